//! A store on a Redis server: one store for many hosts. A bucket is two Redis keys: a hash from
//! key to value, and a sorted set of the keys, all with score 0, which Redis orders bytewise and
//! ranges over with ZRANGEBYLEX. Scans and commits are Lua scripts, which Redis runs with no other
//! command in between: a page is consistent, and a commit's check and writes are atomic.

use std::ops::Bound;
use std::time::Duration;

use ::redis::{Client, Connection, RedisError, Script};

use super::connection::Pool;
use super::{Backend, Expectation, KeyRange, Page, StoreError, Write};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections kept for the next operations; more are made while more operations run at once.
const MAX_IDLE: usize = 64;
/// How long one reply may take. Host calls cannot be interrupted by a unit's deadline, so a server
/// that stopped answering must not hold the unit forever.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// KEYS: the sorted set, the hash. ARGV: the command (ZRANGEBYLEX, or ZREVRANGEBYLEX for a
/// descending scan), its two bounds in the order it takes them, the most entries to return.
/// Returns key, value, key, value, ...
const SCAN: &str = r"
if ARGV[1] ~= 'ZRANGEBYLEX' and ARGV[1] ~= 'ZREVRANGEBYLEX' then
    return redis.error_reply('not a scan command')
end
local keys = redis.call(ARGV[1], KEYS[1], ARGV[2], ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local entries = {}
for i, key in ipairs(keys) do
    local value = redis.call('HGET', KEYS[2], key)
    if not value then
        return redis.error_reply('the key set and the values of a bucket disagree: edited by hand?')
    end
    entries[2 * i - 1] = key
    entries[2 * i] = value
end
return entries
";

/// KEYS: the sorted set, the hash. ARGV: the number of expectations, then three arguments per
/// expectation (the key, then '1' and the value it must hold, or '0' and '' when it must be
/// absent), then three per write ('set', key, value; 'del', key, ''; 'range', lowest and highest
/// ZRANGEBYLEX bounds). Returns 1, or 0 when an expectation failed and nothing was written.
const COMMIT: &str = r"
local expectations = tonumber(ARGV[1])
local writes = 2 + 3 * expectations
for i = 2, writes - 1, 3 do
    local current = redis.call('HGET', KEYS[2], ARGV[i])
    if ARGV[i + 1] == '1' then
        if current ~= ARGV[i + 2] then return 0 end
    elseif current then
        return 0
    end
end
for i = writes, #ARGV, 3 do
    local op, a, b = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    if op == 'set' then
        redis.call('HSET', KEYS[2], a, b)
        redis.call('ZADD', KEYS[1], 0, a)
    elseif op == 'del' then
        redis.call('HDEL', KEYS[2], a)
        redis.call('ZREM', KEYS[1], a)
    else
        for _, key in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], a, b)) do
            redis.call('HDEL', KEYS[2], key)
        end
        redis.call('ZREMRANGEBYLEX', KEYS[1], a, b)
    end
end
return 1
";

#[derive(Debug)]
pub(super) struct Redis {
    client: Client,
    connections: Pool<Connection>,
    scan: Script,
    commit: Script,
}

impl Redis {
    /// Checks the URL; connects on first use.
    pub(super) fn new(url: &str) -> Result<Self, String> {
        let client = Client::open(url).map_err(|e| format!("`{}` is not a Redis URL: {e}", redacted(url)))?;
        Ok(Self { client, connections: Pool::new(MAX_IDLE), scan: Script::new(SCAN), commit: Script::new(COMMIT) })
    }

    fn failed(&self, error: RedisError) -> StoreError {
        StoreError::Unavailable(format!("Redis at {}: {error}", self.client.get_connection_info().addr()))
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let connection = self.client.get_connection_with_timeout(CONNECT_TIMEOUT).map_err(|e| self.failed(e))?;
        connection.set_read_timeout(Some(REPLY_TIMEOUT)).map_err(|e| self.failed(e))?;
        connection.set_write_timeout(Some(REPLY_TIMEOUT)).map_err(|e| self.failed(e))?;
        Ok(connection)
    }

    fn with<R>(&self, operation: impl FnOnce(&mut Connection) -> Result<R, RedisError>) -> Result<R, StoreError> {
        self.connections.with(|| self.connect(), |c| operation(c).map_err(|e| self.failed(e)))
    }

    /// One page of the scan script with `command` and its two bounds.
    fn page(&self, bucket: &str, command: &str, bounds: [Vec<u8>; 2], limit: usize) -> Result<Page, StoreError> {
        let [first, second] = bounds;
        let flat: Vec<Vec<u8>> = self.with(|c| {
            self.scan.key(&redis_keys(bucket)).arg(command).arg(first).arg(second).arg(limit + 1).invoke(c)
        })?;
        let mut flat = flat.into_iter();
        let entries = std::iter::from_fn(|| Some((flat.next()?, flat.next()?))).collect();
        Ok(Page::from_overread(entries, limit))
    }
}

/// `url` with its password, if any, replaced by `***`, for messages.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        None => url.to_string(),
    }
}

/// The Redis keys of a bucket: its sorted set of keys and its hash of values. The braces make
/// both one hash slot, as a script over two keys needs on a Redis cluster.
fn redis_keys(bucket: &str) -> [String; 2] {
    [format!("cu:{{{bucket}}}:keys"), format!("cu:{{{bucket}}}:values")]
}

/// ZRANGEBYLEX bounds of the keys of `range` from `start` on.
fn lex_bounds(range: &KeyRange, start: &[u8]) -> [Vec<u8>; 2] {
    let bound = |mark: u8, key: &[u8]| [&[mark], key].concat();
    [bound(b'[', start), range.end.as_deref().map_or_else(|| b"+".to_vec(), |end| bound(b'(', end))]
}

impl Backend for Redis {
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let [_, values] = redis_keys(bucket);
        self.with(|c| ::redis::cmd("HMGET").arg(values).arg(keys).query(c))
    }

    fn scan(&self, bucket: &str, range: &KeyRange, start: &[u8], limit: usize) -> Result<Page, StoreError> {
        let [min, max] = lex_bounds(range, start);
        self.page(bucket, "ZRANGEBYLEX", [min, max], limit)
    }

    fn scan_reverse(
        &self,
        bucket: &str,
        range: &KeyRange,
        upper: Bound<&[u8]>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let max = match upper {
            Bound::Included(key) => [b"[", key].concat(),
            Bound::Excluded(key) => [b"(", key].concat(),
            Bound::Unbounded => b"+".to_vec(),
        };
        let [min, _] = lex_bounds(range, &range.start);
        self.page(bucket, "ZREVRANGEBYLEX", [max, min], limit)
    }

    fn commit(&self, bucket: &str, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError> {
        let mut call = self.commit.key(&redis_keys(bucket));
        call.arg(expected.len());
        for Expectation { key, value } in expected {
            match value {
                Some(value) => call.arg(key).arg("1").arg(value),
                None => call.arg(key).arg("0").arg(""),
            };
        }
        for write in writes {
            match write {
                Write::Set(key, value) => call.arg("set").arg(key).arg(value),
                Write::Delete(key) => call.arg("del").arg(key).arg(""),
                Write::DeleteRange(range) => call.arg("range").arg(&lex_bounds(range, &range.start)),
            };
        }
        // Once the script is sent, a lost connection hides whether the server ran it: say so,
        // rather than let the caller take the failure for a commit that wrote nothing.
        let applied = self.connections.with(
            || self.connect(),
            |c| {
                call.invoke::<i64>(c).map_err(|error| {
                    let lost = error.is_io_error() || error.is_connection_dropped() || error.is_timeout();
                    match self.failed(error) {
                        StoreError::Unavailable(message) if lost => StoreError::Unavailable(format!(
                            "{message}; the connection was lost during the commit, which may have been applied"
                        )),
                        other => other,
                    }
                })
            },
        )?;
        match applied {
            1 => Ok(()),
            _ => Err(StoreError::Conflict),
        }
    }
}
