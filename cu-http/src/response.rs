//! The response the app's `handle` returns, `{ status, headers, body }`, and its sending.

use value::{Json, Value};
use wasip2::http::types::{Fields, OutgoingBody, OutgoingResponse, ResponseOutparam};

/// A response to send.
pub struct Response {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Response {
    /// A plain-text response, for errors.
    pub fn text(status: u16, message: &str) -> Response {
        let headers = vec![("content-type".into(), b"text/plain; charset=utf-8".to_vec())];
        Response { status, headers, body: format!("{message}\n").into_bytes() }
    }

    /// Sends the response: headers and status, then the body in pieces a stream takes at once.
    pub fn send(self, out: ResponseOutparam) {
        let entries: Vec<(String, Vec<u8>)> = self.headers;
        let Ok(fields) = Fields::from_list(&entries) else {
            return Response::text(500, "the app's headers are not valid HTTP headers").send(out);
        };
        let response = OutgoingResponse::new(fields);
        if response.set_status_code(self.status).is_err() {
            return Response::text(500, &format!("{} is not an HTTP status", self.status)).send(out);
        }
        let Ok(body) = response.body() else { return };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(stream) = body.write() {
            for piece in self.body.chunks(4096) {
                if stream.blocking_write_and_flush(piece).is_err() {
                    return;
                }
            }
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

/// The response a `handle` returned: `status` (default 200), `headers` (name = value), `body` (a
/// string as it is, a table as JSON with `content-type: application/json` unless set, none empty).
pub fn from_lua(value: &Value) -> Response {
    let Value::Map(fields) = value else {
        return Response::text(500, &format!("handle(request) returned a {}, not a response table", value.type_name()));
    };
    let get = |name: &str| fields.iter().find(|(key, _)| key.as_str() == Some(name)).map(|(_, value)| value);
    let status = match get("status") {
        None => 200,
        Some(Value::Integer(code)) if (100..=999).contains(code) => *code as u16,
        Some(other) => return Response::text(500, &format!("the response's status {other} is not an HTTP status")),
    };
    let mut headers = Vec::new();
    match get("headers") {
        None => {}
        Some(Value::Map(entries)) => {
            for (name, value) in entries {
                match (name, value) {
                    (Value::String(name), Value::String(value)) => {
                        headers.push((String::from_utf8_lossy(name).to_ascii_lowercase(), value.clone()));
                    }
                    (name, value) => {
                        return Response::text(500, &format!("the response header {name} = {value} is not text"));
                    }
                }
            }
        }
        Some(other) => return Response::text(500, &format!("the response's headers {other} are not a table")),
    }
    let body = match get("body") {
        None | Some(Value::Nil) => Vec::new(),
        Some(Value::String(bytes)) => bytes.clone(),
        Some(table @ (Value::Map(_) | Value::Array(_))) => {
            if !headers.iter().any(|(name, _)| name == "content-type") {
                headers.push(("content-type".into(), b"application/json".to_vec()));
            }
            serde_json::to_vec(&Json(table)).unwrap_or_default()
        }
        Some(other) => other.to_string().into_bytes(),
    };
    Response { status, headers, body }
}
