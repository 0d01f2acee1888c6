//! A request as the app's `handle` receives it: `{ method, path, query, headers, body }`.

use value::Value;
use wasip2::http::types::{IncomingRequest, Method};
use wasip2::io::streams::StreamError;

use crate::response::Response;

/// The request as a Lua table: `method` (`"GET"`), `path` (`"/users/7"`), `query` (the text after
/// `?`, or `""`), `headers` (names in lower case; repeated headers joined by `, `) and `body`
/// (the bytes, as a Lua string). A body past `max_body` bytes (0: no limit) is refused with 413.
pub fn read(request: &IncomingRequest, max_body: u64) -> Result<Value, Response> {
    let target = request.path_with_query().unwrap_or_else(|| "/".into());
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, value) in request.headers().entries() {
        let name = name.to_ascii_lowercase();
        match headers.iter_mut().find(|(known, _)| *known == name) {
            Some((_, joined)) => {
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(&value);
            }
            None => headers.push((name, value)),
        }
    }
    let body = body(request, max_body)?;
    let field = |name: &str, value: Value| (Value::from(name), value);
    Ok(Value::Map(vec![
        field("method", Value::from(method(&request.method()))),
        field("path", Value::from(path)),
        field("query", Value::from(query)),
        field("headers", Value::Map(headers.into_iter().map(|(n, v)| (Value::from(n), Value::from(v))).collect())),
        field("body", Value::from(body)),
    ]))
}

fn method(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}

/// The whole body, up to `max` bytes (0: no limit).
fn body(request: &IncomingRequest, max: u64) -> Result<Vec<u8>, Response> {
    let unreadable = || Response::text(400, "the request body cannot be read");
    let incoming = request.consume().map_err(|()| unreadable())?;
    let stream = incoming.stream().map_err(|()| unreadable())?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(_)) => return Err(unreadable()),
        }
        if max > 0 && body.len() as u64 > max {
            return Err(Response::text(413, &format!("the request body is larger than {max} bytes")));
        }
    }
    Ok(body)
}
