//! Schemas: rules for the fields of every record of a stored table, in the seed's form
//! (`{ age = { type = 'number', min = 0, max = 150 } }`), checked when a call commits (views.rs).
//! A rule set is parsed from a Lua table here, stored in the catalog, and given back as one.

use mlua::{Lua, Table, Value};

use super::codec::{Corrupt, Key, KeyCode, Reader, Stored, put_bytes};
use super::order;
use crate::bigint;

/// The types a rule can ask for, by the names a schema gives them.
const TYPES: &[(&str, Type)] = &[
    ("string", Type::String),
    ("number", Type::Number),
    ("integer", Type::Integer),
    ("boolean", Type::Boolean),
    ("table", Type::Table),
    ("function", Type::Function),
    ("null", Type::Null),
];

const RULES: &str = "type, required, min, max, pattern";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    /// Integers, floats and bigints.
    Number,
    /// Integers and bigints.
    Integer,
    Boolean,
    Table,
    Function,
    /// JSON's null.
    Null,
}

impl Type {
    fn name(self) -> &'static str {
        TYPES.iter().find(|(_, t)| *t == self).map_or("?", |(name, _)| name)
    }

    fn code(self) -> u8 {
        TYPES.iter().position(|(_, t)| *t == self).map_or(0, |i| i as u8 + 1)
    }
}

/// The rules of one field.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The field's name (a string key of the record).
    pub field: Vec<u8>,
    pub kind: Option<Type>,
    pub required: bool,
    /// Bounds of a number's value, or of a string's length in bytes.
    pub min: Option<Stored>,
    pub max: Option<Stored>,
    /// A Lua pattern a string must match (`string.find`).
    pub pattern: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    pub rules: Vec<Rule>,
}

/// A record that breaks a rule: where, which rule, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub rule: &'static str,
    pub message: String,
}

impl Schema {
    pub fn has_field(&self, key: &KeyCode) -> bool {
        self.rules.iter().any(|rule| Key::String(rule.field.clone()).encode() == *key)
    }

    /// A schema from its Lua form; the error names the field and rule at fault.
    pub fn parse(table: &Table) -> Result<Schema, String> {
        let mut rules = Vec::new();
        for pair in table.pairs::<Value, Value>() {
            let (field, rules_of) = pair.map_err(|e| e.to_string())?;
            let Value::String(field) = field else {
                return Err(format!("a schema's keys are field names (strings), not a {}", field.type_name()));
            };
            let field = field.as_bytes().to_vec();
            let name = String::from_utf8_lossy(&field).into_owned();
            let Value::Table(rules_of) = rules_of else {
                return Err(format!("the rules of field '{name}' must be a table, not a {}", rules_of.type_name()));
            };
            rules.push(parse_rule(field, &name, &rules_of)?);
        }
        rules.sort_by(|a, b| a.field.cmp(&b.field));
        Ok(Schema { rules })
    }

    /// The schema in its Lua form, as [`Schema::parse`] takes it.
    pub fn to_lua(&self, lua: &Lua) -> mlua::Result<Table> {
        let table = lua.create_table()?;
        for rule in &self.rules {
            let rules = lua.create_table()?;
            if let Some(kind) = rule.kind {
                rules.raw_set("type", kind.name())?;
            }
            if rule.required {
                rules.raw_set("required", true)?;
            }
            for (name, bound) in [("min", &rule.min), ("max", &rule.max)] {
                match bound {
                    Some(Stored::Integer(i)) => rules.raw_set(name, *i)?,
                    Some(Stored::Float(f)) => rules.raw_set(name, *f)?,
                    _ => {}
                }
            }
            if let Some(pattern) = &rule.pattern {
                rules.raw_set("pattern", lua.create_string(pattern)?)?;
            }
            table.raw_set(lua.create_string(&rule.field)?, rules)?;
        }
        Ok(table)
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.rules.len() as u32).to_le_bytes());
        for rule in &self.rules {
            put_bytes(out, &rule.field);
            out.push(rule.kind.map_or(0, Type::code));
            out.push(u8::from(rule.required));
            for bound in [&rule.min, &rule.max] {
                match bound {
                    Some(value) => {
                        out.push(1);
                        value.write_into(out);
                    }
                    None => out.push(0),
                }
            }
            match &rule.pattern {
                Some(pattern) => {
                    out.push(1);
                    put_bytes(out, pattern);
                }
                None => out.push(0),
            }
        }
    }

    pub fn read(reader: &mut Reader) -> Result<Schema, Corrupt> {
        let mut rules = Vec::new();
        for _ in 0..reader.u32()? {
            let field = reader.bytes()?.to_vec();
            let kind = match reader.byte()? {
                0 => None,
                code => Some(TYPES.get(code as usize - 1).ok_or(Corrupt("a schema type of an unknown kind"))?.1),
            };
            let required = reader.byte()? == 1;
            let mut bound = || -> Result<Option<Stored>, Corrupt> {
                Ok(if reader.byte()? == 1 { Some(reader.stored()?) } else { None })
            };
            let (min, max) = (bound()?, bound()?);
            let pattern = if reader.byte()? == 1 { Some(reader.bytes()?.to_vec()) } else { None };
            rules.push(Rule { field, kind, required, min, max, pattern });
        }
        Ok(Schema { rules })
    }

    /// The first rule `record` breaks; `path` names the record (`_home.users.bob`). `get` reads a
    /// field of the record as the call sees it; `find` is Lua's `string.find`, which a pattern
    /// rule runs.
    pub fn check(
        &self,
        lua: &Lua,
        find: &mlua::Function,
        record: &Value,
        path: &str,
        get: &mut dyn FnMut(&Table, &[u8]) -> mlua::Result<Value>,
    ) -> mlua::Result<Option<Violation>> {
        let Value::Table(record) = record else {
            return Ok(Some(Violation {
                path: path.to_string(),
                rule: "record",
                message: format!(
                    "{path}: is {}, but the table's schema wants records that are tables",
                    describe_type(
                        record,
                        matches!(record, Value::UserData(u) if bigint::of_userdata(lua, u).is_some())
                    )
                ),
            }));
        };
        for rule in &self.rules {
            let value = get(record, &rule.field)?;
            let path = format!("{path}{}", super::node::segment(&Key::String(rule.field.clone())));
            if let Some(violation) = rule.check(lua, find, &value, &path)? {
                return Ok(Some(violation));
            }
        }
        Ok(None)
    }
}

impl Rule {
    fn check(&self, lua: &Lua, find: &mlua::Function, value: &Value, path: &str) -> mlua::Result<Option<Violation>> {
        let broken = |rule: &'static str, why: String| {
            Ok(Some(Violation { path: path.to_string(), rule, message: format!("{path}: {why}") }))
        };
        if value.is_nil() {
            return if self.required { broken("required", "is required".into()) } else { Ok(None) };
        }
        let is_big = matches!(value, Value::UserData(u) if bigint::of_userdata(lua, u).is_some());
        if let Some(kind) = self.kind {
            let fits = match kind {
                Type::String => value.is_string(),
                Type::Number => matches!(value, Value::Integer(_) | Value::Number(_)) || is_big,
                Type::Integer => matches!(value, Value::Integer(_)) || is_big,
                Type::Boolean => value.is_boolean(),
                Type::Table => value.is_table(),
                Type::Function => value.is_function(),
                Type::Null => matches!(value, Value::LightUserData(p) if p.0.is_null()),
            };
            if !fits {
                return broken("type", format!("is {}, not {}", describe_type(value, is_big), article(kind.name())));
            }
        }
        // Bounds apply to a number's value and a string's length, compared as index codes do.
        let measured = match value {
            Value::String(s) => Some((order::integer(s.as_bytes().len() as i64), "length ")),
            other => {
                order::of_lua(lua, other).filter(|c| order::Class::of(c) == Some(order::Class::Number)).map(|c| (c, ""))
            }
        };
        if let Some((code, what)) = measured {
            let shown = shown(value);
            for (bound, rule, below) in [(&self.min, "min", true), (&self.max, "max", false)] {
                let Some(bound) = bound else { continue };
                let Some(limit) = order::of_stored(bound) else { continue };
                if (below && code < limit) || (!below && code > limit) {
                    let side = if below { "below" } else { "above" };
                    let subject = if what.is_empty() { shown.clone() } else { format!("its length {}", length(value)) };
                    return broken(rule, format!("{subject} is {side} {rule} {}", shown_stored(bound)));
                }
            }
        }
        if let (Some(pattern), Value::String(s)) = (&self.pattern, value) {
            let found: Value = find.call((s.clone(), lua.create_string(pattern)?))?;
            if found.is_nil() {
                return broken(
                    "pattern",
                    format!("{} does not match pattern \"{}\"", shown(value), String::from_utf8_lossy(pattern)),
                );
            }
        }
        Ok(None)
    }
}

fn parse_rule(field: Vec<u8>, name: &str, rules: &Table) -> Result<Rule, String> {
    let mut rule = Rule { field, kind: None, required: false, min: None, max: None, pattern: None };
    for pair in rules.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| e.to_string())?;
        let key = match &key {
            Value::String(s) => s.to_string_lossy(),
            other => {
                return Err(format!("field '{name}': a rule's name must be a string, not a {}", other.type_name()));
            }
        };
        let wrong = |what: &str| Err(format!("field '{name}': rule '{key}' must be {what}, not {}", shown(&value)));
        match key.as_str() {
            "type" => {
                let Value::String(s) = &value else { return wrong("a type name") };
                let wanted = s.to_string_lossy();
                rule.kind = Some(TYPES.iter().find(|(n, _)| *n == wanted).map(|(_, t)| *t).ok_or_else(|| {
                    let names: Vec<&str> = TYPES.iter().map(|(n, _)| *n).collect();
                    format!("field '{name}': unknown type '{wanted}': use {}", names.join(", "))
                })?);
            }
            "required" => match value {
                Value::Boolean(b) => rule.required = b,
                _ => return wrong("true or false"),
            },
            "min" | "max" => {
                let bound = match value {
                    Value::Integer(i) => Stored::Integer(i),
                    Value::Number(f) if !f.is_nan() => Stored::Float(f),
                    _ => return wrong("a number"),
                };
                if key == "min" { rule.min = Some(bound) } else { rule.max = Some(bound) }
            }
            "pattern" => {
                let Value::String(s) = &value else { return wrong("a Lua pattern (a string)") };
                let pattern = s.as_bytes().to_vec();
                check_pattern(&pattern).map_err(|why| {
                    format!("field '{name}': pattern \"{}\" is not valid: {why}", s.to_string_lossy())
                })?;
                rule.pattern = Some(pattern);
            }
            other => return Err(format!("field '{name}': unknown rule '{other}': rules are {RULES}")),
        }
    }
    if let (Some(min), Some(max)) = (&rule.min, &rule.max)
        && let (Some(low), Some(high)) = (order::of_stored(min), order::of_stored(max))
        && low > high
    {
        return Err(format!("field '{name}': min {} is above max {}", shown_stored(min), shown_stored(max)));
    }
    Ok(rule)
}

/// Checks a Lua pattern's syntax as `lstrlib.c` reads it, so that a broken pattern is refused
/// when the schema is set rather than when a record first reaches the broken part.
pub fn check_pattern(p: &[u8]) -> Result<(), &'static str> {
    let mut open: Vec<bool> = Vec::new(); // captures: closed yet?
    let mut i = usize::from(p.first() == Some(&b'^'));
    while i < p.len() {
        match p[i] {
            b'(' => {
                open.push(false);
                i += 1;
            }
            b')' => {
                let last = open.iter().rposition(|closed| !closed).ok_or("invalid pattern capture")?;
                open[last] = true;
                i += 1;
            }
            b'%' => {
                let c = *p.get(i + 1).ok_or("malformed pattern (ends with '%')")?;
                match c {
                    b'b' => {
                        if p.len() < i + 4 {
                            return Err("missing arguments to '%b'");
                        }
                        i += 4;
                    }
                    b'f' => {
                        if p.get(i + 2) != Some(&b'[') {
                            return Err("missing '[' after '%f' in pattern");
                        }
                        i = class_end(p, i + 2)?;
                    }
                    b'1'..=b'9' => {
                        let n = (c - b'1') as usize;
                        if open.get(n) != Some(&true) {
                            return Err("invalid capture index");
                        }
                        i += 2;
                    }
                    _ => i += 2,
                }
                continue;
            }
            b'[' => i = class_end(p, i)?,
            _ => i += 1,
        }
        // A single-character item may be followed by a repetition.
        if matches!(p.get(i), Some(b'*' | b'+' | b'-' | b'?')) {
            i += 1;
        }
    }
    if open.iter().any(|closed| !closed) { Err("unfinished capture") } else { Ok(()) }
}

/// The index after the set that starts at `p[start] == '['`.
fn class_end(p: &[u8], start: usize) -> Result<usize, &'static str> {
    let mut i = start + 1;
    if p.get(i) == Some(&b'^') {
        i += 1;
    }
    // The first character of a set is itself even when it is ']'.
    loop {
        let c = *p.get(i).ok_or("malformed pattern (missing ']')")?;
        i += 1;
        if c == b'%' {
            p.get(i).ok_or("malformed pattern (missing ']')")?;
            i += 1;
        }
        if p.get(i) == Some(&b']') {
            return Ok(i + 1);
        }
    }
}

fn article(name: &str) -> String {
    let vowel = name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {name}", if vowel { "an" } else { "a" })
}

fn describe_type(value: &Value, is_big: bool) -> String {
    match value {
        Value::Integer(_) => "an integer".into(),
        Value::Number(_) => "a float".into(),
        Value::LightUserData(p) if p.0.is_null() => "null".into(),
        _ if is_big => "a bigint".into(),
        other => article(other.type_name()),
    }
}

fn length(value: &Value) -> usize {
    match value {
        Value::String(s) => s.as_bytes().len(),
        _ => 0,
    }
}

/// A scalar as a message shows it: numbers as Lua prints them, strings quoted.
fn shown(value: &Value) -> String {
    match value {
        Value::Integer(i) => i.to_string(),
        Value::Number(f) => format!("{f:?}"),
        Value::String(s) => format!("{:?}", s.to_string_lossy()),
        Value::Boolean(b) => b.to_string(),
        other => other.type_name().to_string(),
    }
}

fn shown_stored(value: &Stored) -> String {
    match value {
        Stored::Integer(i) => i.to_string(),
        Stored::Float(f) => format!("{f:?}"),
        _ => "?".into(),
    }
}
