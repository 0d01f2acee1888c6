//! The forms of time limits and sizes on `cu`'s command line, which the cu-run and cu-http
//! components (including this file) share.

use std::time::Duration;

/// A time limit (also an age, for `cu home audit show --since`); `None` is no limit.
#[derive(Clone, Copy, Debug)]
pub struct Timeout(pub Option<Duration>);

impl std::str::FromStr for Timeout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration such as 500ms, 5s or 2m"))?;
        let seconds = match unit.trim() {
            "" | "s" => value,
            "ms" => value / 1000.0,
            "m" | "min" => value * 60.0,
            "h" => value * 3600.0,
            "d" => value * 86_400.0,
            other => return Err(format!("unknown unit `{other}`: use ms, s, m, h or d")),
        };
        if seconds == 0.0 {
            return Ok(Timeout(None));
        }
        Duration::try_from_secs_f64(seconds).map(|d| Timeout(Some(d))).map_err(|e| e.to_string())
    }
}

/// A size in bytes; 0 is no limit.
#[derive(Clone, Copy, Debug)]
pub struct Size(pub u64);

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: u64 = number.parse().map_err(|_| format!("`{text}` is not a size such as 64M or 1G"))?;
        let multiplier: u64 = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "K" | "KB" | "KIB" => 1 << 10,
            "M" | "MB" | "MIB" => 1 << 20,
            "G" | "GB" | "GIB" => 1 << 30,
            other => return Err(format!("unknown unit `{other}`: use K, M or G")),
        };
        value.checked_mul(multiplier).map(Size).ok_or_else(|| format!("`{text}` is too large"))
    }
}
