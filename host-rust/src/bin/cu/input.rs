//! Reading what the command line names: scripts and JSON documents, from files or standard input.
//! The cu-run component includes this file too.

use std::io::Read;

use value::Value;

/// The script's name for messages and its code. `-` reads standard input. A first line starting
/// with `#` (a shebang) is turned into a comment, as the `lua` interpreter skips it.
pub fn script(file: &str) -> Result<(String, Vec<u8>), String> {
    let (name, mut code) = if file == "-" {
        let mut code = Vec::new();
        std::io::stdin().read_to_end(&mut code).map_err(|e| format!("cannot read standard input: {e}"))?;
        ("stdin".to_string(), code)
    } else {
        let code = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        (file.to_string(), code)
    };
    if code.starts_with(b"#") {
        code.splice(0..0, *b"--");
    }
    Ok((name, code))
}

/// A JSON document from a file, or from standard input for `-`.
pub fn json(path: &str) -> Result<Value, String> {
    let parsed = if path == "-" {
        serde_json::from_reader(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        serde_json::from_reader(std::io::BufReader::new(file))
    };
    let name = if path == "-" { "standard input" } else { path };
    parsed.map_err(|e| format!("{name} is not valid JSON: {e}"))
}

/// A JSON document given on the command line.
pub fn json_text(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))
}

/// Lua's `arg` convention: `arg[0]` is the script, `arg[1..]` its arguments.
pub fn arg_table(script: &str, args: &[String]) -> Value {
    let entries = std::iter::once(script)
        .chain(args.iter().map(String::as_str))
        .enumerate()
        .map(|(i, a)| (Value::Integer(i as i64), Value::from(a)))
        .collect();
    Value::Map(entries)
}
