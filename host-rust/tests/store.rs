//! The stores behind `_home`, through the `Store` API alone: one suite of behaviour run on every
//! backend (memory, a SQLite file, a Redis server started for the test), concurrent
//! read-modify-write from two handles, and what only one backend has (files, reconnecting).

mod common;

use std::any::Any;
use std::thread;

use common::redis_server::{RedisServer, free_port};
use cu::{Expectation, KeyRange, MAX_KEY, MAX_VALUE, Store, StoreError, Write};

const BUCKET: &str = "home";

/// A store of one backend, a way to open another handle on the same data (another connection),
/// and whatever keeps the data alive (a temporary directory, a server), dropped last.
struct Fixture {
    store: Store,
    handle: Box<dyn Fn() -> Store>,
    _keep: Box<dyn Any>,
}

fn memory() -> Fixture {
    let store = Store::memory();
    let same = store.clone();
    Fixture { store, handle: Box::new(move || same.clone()), _keep: Box::new(()) }
}

fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("home.sqlite");
    Fixture { store: Store::sqlite(&path), handle: Box::new(move || Store::sqlite(&path)), _keep: Box::new(dir) }
}

fn redis() -> Fixture {
    let server = RedisServer::start();
    // Not database 0, to see that the URL's database is used.
    let url = server.url(3);
    let open = move || Store::redis(&url).expect("a Redis URL");
    Fixture { store: open(), handle: Box::new(open), _keep: Box::new(server) }
}

/// Runs each check once per backend, as `<backend>_store::<check>`.
macro_rules! on_every_backend {
    ($($check:ident)*) => {
        mod memory_store { $( #[test] fn $check() { super::$check(&super::memory()) } )* }
        mod sqlite_store { $( #[test] fn $check() { super::$check(&super::sqlite()) } )* }
        mod redis_store { $( #[test] fn $check() { super::$check(&super::redis()) } )* }
    };
}

on_every_backend! {
    reads_and_writes
    keys_are_ordered_bytewise
    prefix_scans
    scans_page_with_a_cursor
    scans_in_reverse
    packed_scans_are_scans_packed
    delete_keys_by_prefix_and_range
    a_failed_expectation_writes_nothing
    expectations_of_absent_keys
    too_large_keys_and_values_are_refused_whole
    buckets_are_isolated
    another_handle_sees_the_data
    increments_from_two_handles_lose_none
}

fn set(store: &Store, key: &[u8], value: &[u8]) {
    store.set(BUCKET, key, value).expect("sets");
}

fn get(store: &Store, key: &[u8]) -> Option<Vec<u8>> {
    store.get(BUCKET, key).expect("gets")
}

fn commit(store: &Store, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError> {
    store.commit(BUCKET, writes, expected)
}

fn set_write(key: &[u8], value: &[u8]) -> Write {
    Write::Set(key.to_vec(), value.to_vec())
}

fn expect(key: &[u8], value: Option<&[u8]>) -> Expectation {
    Expectation { key: key.to_vec(), value: value.map(<[u8]>::to_vec) }
}

/// The keys under `prefix`, in the store's order.
fn keys(store: &Store, prefix: &[u8]) -> Vec<Vec<u8>> {
    store.scan_all(BUCKET, prefix).expect("scans").into_iter().map(|(key, _)| key).collect()
}

/// The keys of each page of a scan of `range`, `limit` at a time.
fn pages(store: &Store, range: &KeyRange, limit: usize) -> Vec<Vec<Vec<u8>>> {
    paged(limit, |cursor| store.scan(BUCKET, range, cursor, limit))
}

fn pages_reversed(store: &Store, range: &KeyRange, limit: usize) -> Vec<Vec<Vec<u8>>> {
    paged(limit, |cursor| store.scan_reverse(BUCKET, range, cursor, limit))
}

/// The keys of every page of a scan, following each page's cursor.
fn paged(limit: usize, scan: impl Fn(Option<&[u8]>) -> Result<cu::Page, StoreError>) -> Vec<Vec<Vec<u8>>> {
    let mut pages = Vec::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let page = scan(cursor.as_deref()).expect("scans");
        assert!(page.entries.len() <= limit.max(1), "a page of {} entries for a limit of {limit}", page.entries.len());
        pages.push(page.entries.into_iter().map(|(key, _)| key).collect());
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
    }
}

fn range(start: &[u8], end: Option<&[u8]>) -> KeyRange {
    KeyRange { start: start.to_vec(), end: end.map(<[u8]>::to_vec) }
}

/// Keys `{prefix}00`, `{prefix}01`, ... with the key as value.
fn numbered(store: &Store, prefix: &str, count: usize) -> Vec<Vec<u8>> {
    let keys: Vec<Vec<u8>> = (0..count).map(|i| format!("{prefix}{i:02}").into_bytes()).collect();
    let writes: Vec<Write> = keys.iter().map(|key| set_write(key, key)).collect();
    commit(store, &writes, &[]).expect("commits");
    keys
}

fn reads_and_writes(f: &Fixture) {
    let store = &f.store;
    assert_eq!(get(store, b"a"), None);
    set(store, b"a", b"1");
    set(store, b"b", b"");
    assert_eq!(get(store, b"a"), Some(b"1".to_vec()));
    assert_eq!(get(store, b"b"), Some(Vec::new()), "an empty value is a value");
    set(store, b"a", b"2");
    assert_eq!(get(store, b"a"), Some(b"2".to_vec()), "set replaces");
    let many = store.get_many(BUCKET, &[b"b".to_vec(), b"missing".to_vec(), b"a".to_vec(), b"a".to_vec()]);
    assert_eq!(many.expect("gets"), [Some(Vec::new()), None, Some(b"2".to_vec()), Some(b"2".to_vec())]);
    assert_eq!(store.get_many(BUCKET, &[]).expect("gets"), Vec::<Option<Vec<u8>>>::new());
    commit(store, &[Write::Delete(b"a".to_vec()), Write::Delete(b"never".to_vec())], &[]).expect("deletes");
    assert_eq!(get(store, b"a"), None);
    let binary: Vec<u8> = (0..=255).collect();
    set(store, &binary, &binary);
    assert_eq!(get(store, &binary), Some(binary.clone()), "any bytes");
    set(store, b"", b"empty key");
    assert_eq!(get(store, b""), Some(b"empty key".to_vec()), "the empty key is a key");
    commit(store, &[], &[]).expect("an empty commit");
}

fn keys_are_ordered_bytewise(f: &Fixture) {
    let store = &f.store;
    let mut expected: Vec<Vec<u8>> = [
        &b""[..],
        b"\x00",
        b"\x00\x00",
        b"\x00\xff",
        b"\x01",
        b"a",
        b"a\x00",
        b"a\x7f",
        b"a\x80",
        b"a\xff",
        b"a\xff\xff",
        b"ab",
        b"b",
        b"\x7f",
        b"\x80",
        b"\xfe\xff",
        b"\xff",
        b"\xff\x00",
        b"\xff\xff",
        b"\xff\xff\xff",
    ]
    .iter()
    .map(|key| key.to_vec())
    .collect();
    // Written in an order that is neither sorted nor reversed.
    for key in expected.iter().rev().step_by(2).chain(expected.iter().step_by(2)) {
        set(store, key, key);
    }
    expected.sort(); // Vec<u8>'s order is bytewise, a shorter prefix first: memcmp's.
    assert_eq!(keys(store, b""), expected);
    let entries = store.scan_all(BUCKET, b"").expect("scans");
    assert!(entries.iter().all(|(key, value)| key == value), "each key keeps its value");
}

fn prefix_scans(f: &Fixture) {
    let store = &f.store;
    let all: [&[u8]; 11] =
        [b"", b"\x00", b"\x00\x00", b"a", b"a\x00", b"a\xff", b"a\xff\xff", b"ab", b"b", b"\xff", b"\xff\xff"];
    for key in all {
        set(store, key, b"v");
    }
    let cases: [(&[u8], &[&[u8]]); 7] = [
        (b"a", &[b"a", b"a\x00", b"ab", b"a\xff", b"a\xff\xff"]),
        (b"a\xff", &[b"a\xff", b"a\xff\xff"]),
        (b"\x00", &[b"\x00", b"\x00\x00"]),
        (b"\xff", &[b"\xff", b"\xff\xff"]),
        (b"\xff\xff", &[b"\xff\xff"]),
        (b"ab", &[b"ab"]),
        (b"c", &[]),
    ];
    for (prefix, expected) in cases {
        assert_eq!(keys(store, prefix), expected, "prefix {prefix:?}");
    }
    assert_eq!(keys(store, b"").len(), all.len(), "the empty prefix is every key");
    assert_eq!(KeyRange::prefix(b"a\xff\xff"), range(b"a\xff\xff", Some(b"b")));
    assert_eq!(KeyRange::prefix(b"\xff\xff"), range(b"\xff\xff", None));
}

fn scans_page_with_a_cursor(f: &Fixture) {
    let store = &f.store;
    let k = numbered(store, "k", 25);
    numbered(store, "j", 3);
    numbered(store, "l", 3);
    let by_prefix = pages(store, &KeyRange::prefix(b"k"), 10);
    assert_eq!(by_prefix.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(by_prefix.concat(), k);
    let by_range = pages(store, &range(b"k05", Some(b"k15")), 4);
    assert_eq!(by_range.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
    assert_eq!(by_range.concat(), &k[5..15]);
    let exact = pages(store, &range(b"k10", Some(b"k18")), 4);
    assert_eq!(exact.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4], "no empty page after a full last one");
    let open_ended = pages(store, &range(b"k20", None), 100);
    assert_eq!(open_ended.concat().len(), 5 + 3, "k20..k24 and the l keys");
    assert_eq!(pages(store, &KeyRange::prefix(b"k"), 0).len(), 25, "a limit of 0 is taken as 1");
    let page = store.scan(BUCKET, &KeyRange::prefix(b"k"), Some(b"a"), 3).expect("scans");
    assert_eq!(page.entries[0].0, b"k00", "a cursor before the range does not widen it");
    assert_eq!(page.cursor.as_deref(), Some(&b"k03"[..]), "the cursor is the next page's first key");
    assert_eq!(page.entries[1].1, b"k01", "entries carry their values");
    let past = store.scan(BUCKET, &range(b"k00", Some(b"k05")), Some(b"k07"), 3).expect("scans");
    assert_eq!((past.entries.len(), past.cursor), (0, None), "a cursor past the range's end");
    let backwards = store.scan(BUCKET, &range(b"k09", Some(b"k01")), None, 3).expect("scans");
    assert!(backwards.entries.is_empty(), "a range that ends before it starts is empty");
}

fn scans_in_reverse(f: &Fixture) {
    let store = &f.store;
    let k = numbered(store, "k", 25);
    numbered(store, "j", 3);
    numbered(store, "l", 3);
    let reversed = |keys: &[Vec<u8>]| keys.iter().rev().cloned().collect::<Vec<_>>();
    let by_prefix = pages_reversed(store, &KeyRange::prefix(b"k"), 10);
    assert_eq!(by_prefix.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(by_prefix.concat(), reversed(&k), "last key first");
    let by_range = pages_reversed(store, &range(b"k05", Some(b"k15")), 4);
    assert_eq!(by_range.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
    assert_eq!(by_range.concat(), reversed(&k[5..15]), "the range's end is excluded, its start included");
    let open_ended = pages_reversed(store, &range(b"k20", None), 100);
    assert_eq!(open_ended.concat().len(), 3 + 5, "the l keys and k24..k20");
    assert_eq!(pages_reversed(store, &KeyRange::prefix(b"k"), 0).len(), 25, "a limit of 0 is taken as 1");
    let page = store.scan_reverse(BUCKET, &KeyRange::prefix(b"k"), Some(b"z"), 3).expect("scans");
    assert_eq!(page.entries[0].0, b"k24", "a cursor past the range does not widen it");
    assert_eq!(page.cursor.as_deref(), Some(&b"k21"[..]), "the cursor is the next page's first key");
    assert_eq!(page.entries[1].1, b"k23", "entries carry their values");
    let from = store.scan_reverse(BUCKET, &KeyRange::prefix(b"k"), Some(b"k10"), 2).expect("scans");
    assert_eq!(from.entries.iter().map(|e| e.0.clone()).collect::<Vec<_>>(), [b"k10".to_vec(), b"k09".to_vec()]);
    let before = store.scan_reverse(BUCKET, &range(b"k05", Some(b"k10")), Some(b"k01"), 3).expect("scans");
    assert_eq!((before.entries.len(), before.cursor), (0, None), "a cursor before the range's start");
    let backwards = store.scan_reverse(BUCKET, &range(b"k09", Some(b"k01")), None, 3).expect("scans");
    assert!(backwards.entries.is_empty(), "a range that ends before it starts is empty");
}

/// The pages the component receives (packed, each key and value after its length) hold what
/// `scan` returns, in both directions, from every kind of cursor.
fn packed_scans_are_scans_packed(f: &Fixture) {
    let store = &f.store;
    numbered(store, "k", 25);
    numbered(store, "j", 3);
    let packed = |page: &cu::Page| {
        let mut out = cu::PackedEntries::default();
        page.entries.iter().for_each(|(key, value)| out.push(key, value));
        (out, page.cursor.clone())
    };
    let ranges = [
        KeyRange::prefix(b"k"),
        KeyRange::prefix(b""),
        range(b"k05", Some(b"k15")),
        range(b"k20", None),
        range(b"k09", Some(b"k01")),
    ];
    let cursors: [Option<&[u8]>; 5] = [None, Some(b"a"), Some(b"k07"), Some(b"k10"), Some(b"z")];
    for range in &ranges {
        for cursor in cursors {
            for limit in [0, 1, 3, 10, 100] {
                let what = format!("{range:?} from {cursor:?}, {limit} at a time");
                let forward = store.scan(BUCKET, range, cursor, limit).expect("scans");
                assert_eq!(store.scan_packed(BUCKET, range, cursor, limit).expect("scans"), packed(&forward), "{what}");
                let backward = store.scan_reverse(BUCKET, range, cursor, limit).expect("scans");
                assert_eq!(
                    store.scan_reverse_packed(BUCKET, range, cursor, limit).expect("scans"),
                    packed(&backward),
                    "{what}, in reverse"
                );
            }
        }
    }
    let (bytes, _) = store.scan_packed(BUCKET, &range(b"k00", Some(b"k02")), None, 10).expect("scans");
    let k00 = [&3u32.to_le_bytes()[..], b"k00", &3u32.to_le_bytes(), b"k00"].concat();
    let k01 = [&3u32.to_le_bytes()[..], b"k01", &3u32.to_le_bytes(), b"k01"].concat();
    assert_eq!(bytes.into_bytes(), [k00, k01].concat(), "the packing of wit/kv.wit");
}

fn delete_keys_by_prefix_and_range(f: &Fixture) {
    let store = &f.store;
    let k = numbered(store, "k", 10);
    numbered(store, "j", 2);
    set(store, b"k\xff", b"v");
    set(store, b"l", b"v");
    commit(store, &[Write::DeleteRange(range(b"k03", Some(b"k07")))], &[]).expect("deletes a range");
    let left: Vec<Vec<u8>> = [&k[..3], &k[7..]].concat();
    assert_eq!(keys(store, b"k"), [left, vec![b"k\xff".to_vec()]].concat(), "[k03, k07) is gone");
    commit(store, &[Write::DeleteRange(KeyRange::prefix(b"k"))], &[]).expect("deletes a prefix");
    assert_eq!(keys(store, b""), [&b"j00"[..], b"j01", b"l"], "only the prefix is gone");
    commit(store, &[Write::DeleteRange(range(b"z", Some(b"a")))], &[]).expect("an empty range deletes nothing");
    // Writes apply in order: a key set before a range delete goes, one set after it stays.
    commit(
        store,
        &[set_write(b"j05", b"gone"), Write::DeleteRange(KeyRange::prefix(b"j")), set_write(b"j09", b"kept")],
        &[],
    )
    .expect("commits");
    assert_eq!(keys(store, b""), [&b"j09"[..], b"l"]);
    commit(store, &[Write::DeleteRange(range(b"", None))], &[]).expect("deletes everything");
    assert_eq!(keys(store, b""), Vec::<Vec<u8>>::new());
}

fn a_failed_expectation_writes_nothing(f: &Fixture) {
    let store = &f.store;
    set(store, b"x", b"1");
    set(store, b"y", b"1");
    numbered(store, "k", 3);
    let writes = [
        set_write(b"x", b"2"),
        set_write(b"new", b"1"),
        Write::Delete(b"y".to_vec()),
        Write::DeleteRange(KeyRange::prefix(b"k")),
    ];
    let before = store.scan_all(BUCKET, b"").expect("scans");
    for expected in [
        vec![expect(b"x", Some(b"0"))],
        vec![expect(b"x", Some(b"1")), expect(b"y", Some(b"2"))],
        vec![expect(b"x", None)],
        vec![expect(b"x", Some(b"1")), expect(b"absent", Some(b""))],
    ] {
        assert_eq!(commit(store, &writes, &expected), Err(StoreError::Conflict), "{expected:?}");
        assert_eq!(store.scan_all(BUCKET, b"").expect("scans"), before, "{expected:?} wrote something");
    }
    commit(store, &writes, &[expect(b"x", Some(b"1")), expect(b"y", Some(b"1"))]).expect("expectations hold");
    assert_eq!(keys(store, b""), [&b"new"[..], b"x"]);
    assert_eq!(get(store, b"x"), Some(b"2".to_vec()));
}

fn expectations_of_absent_keys(f: &Fixture) {
    let store = &f.store;
    let create = [set_write(b"once", b"1")];
    commit(store, &create, &[expect(b"once", None)]).expect("absent, as expected");
    assert_eq!(commit(store, &[set_write(b"once", b"2")], &[expect(b"once", None)]), Err(StoreError::Conflict));
    assert_eq!(get(store, b"once"), Some(b"1".to_vec()));
    set(store, b"empty", b"");
    assert_eq!(
        commit(store, &create, &[expect(b"empty", None)]),
        Err(StoreError::Conflict),
        "an empty value is not absence"
    );
    assert_eq!(
        commit(store, &create, &[expect(b"missing", Some(b""))]),
        Err(StoreError::Conflict),
        "absence is not an empty value"
    );
    commit(store, &[Write::Delete(b"once".to_vec())], &[expect(b"once", Some(b"1"))]).expect("deletes");
    commit(store, &create, &[expect(b"once", None)]).expect("absent again after the delete");
}

fn too_large_keys_and_values_are_refused_whole(f: &Fixture) {
    let store = &f.store;
    let longest_key = vec![b'k'; MAX_KEY];
    let largest_value = vec![0xa5; MAX_VALUE];
    commit(store, &[set_write(&longest_key, b"v"), set_write(b"big", &largest_value)], &[]).expect("at the limits");
    assert_eq!(get(store, &longest_key), Some(b"v".to_vec()));
    assert_eq!(get(store, b"big").map(|v| v.len()), Some(MAX_VALUE));
    let too_long_key = vec![b'k'; MAX_KEY + 1];
    let too_large_value = vec![0; MAX_VALUE + 1];
    let before = store.scan_all(BUCKET, b"").expect("scans");
    for (writes, what) in [
        (vec![set_write(b"ok", b"1"), set_write(&too_long_key, b"v")], "key of 4097 bytes"),
        (vec![set_write(b"ok", b"1"), set_write(b"v", &too_large_value)], "value of 16777217 bytes"),
    ] {
        match commit(store, &writes, &[]) {
            Err(StoreError::TooLarge(message)) => assert!(message.contains(what), "{message}"),
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(store.scan_all(BUCKET, b"").expect("scans"), before, "{what}: something was written");
    }
    assert!(matches!(store.set(BUCKET, &too_long_key, b""), Err(StoreError::TooLarge(_))));
    assert_eq!(get(store, &too_long_key), None, "no key that long can exist");
}

fn buckets_are_isolated(f: &Fixture) {
    let store = &f.store;
    // Names that could run into each other if a backend built its own names from them carelessly.
    let names = ["a", "a:keys", "a}", "{a}", "", "b/c d"];
    for name in names {
        store.set(name, b"k", name.as_bytes()).expect("sets");
        store.set(name, name.as_bytes(), b"own").expect("sets");
    }
    for name in names {
        assert_eq!(store.get(name, b"k").expect("gets"), Some(name.as_bytes().to_vec()), "bucket {name:?}");
        let mut own = vec![b"k".to_vec(), name.as_bytes().to_vec()];
        own.sort();
        own.dedup();
        let keys: Vec<Vec<u8>> = store.scan_all(name, b"").expect("scans").into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, own, "bucket {name:?}");
    }
    store.commit("a", &[Write::DeleteRange(KeyRange::prefix(b""))], &[]).expect("empties a");
    assert_eq!(store.scan_all("a", b"").expect("scans"), []);
    assert_eq!(store.get("a:keys", b"k").expect("gets"), Some(b"a:keys".to_vec()), "other buckets keep theirs");
    assert_eq!(store.get("never-written", b"k").expect("gets"), None);
    assert_eq!(
        store.commit("a", &[set_write(b"k", b"1")], &[expect(b"k", Some(b"a:keys"))]),
        Err(StoreError::Conflict),
        "expectations are checked in the commit's bucket"
    );
}

fn another_handle_sees_the_data(f: &Fixture) {
    set(&f.store, b"kept", b"yes");
    let other = (f.handle)();
    assert_eq!(get(&other, b"kept"), Some(b"yes".to_vec()));
    set(&other, b"back", b"too");
    assert_eq!(get(&f.store, b"back"), Some(b"too".to_vec()));
}

/// Two threads, each with its own handle (its own connection), each add 1 to one counter 200
/// times: read it, write it back with an expectation of what was read, and on a conflict try
/// again. No increment may be lost.
fn increments_from_two_handles_lose_none(f: &Fixture) {
    const EACH: u64 = 200;
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let store = (f.handle)();
            thread::spawn(move || {
                let mut conflicts = 0;
                for _ in 0..EACH {
                    loop {
                        let read = get(&store, b"n");
                        let n =
                            read.as_deref().map_or(0, |bytes| u64::from_be_bytes(bytes.try_into().expect("8 bytes")));
                        match commit(
                            &store,
                            &[set_write(b"n", &(n + 1).to_be_bytes())],
                            &[expect(b"n", read.as_deref())],
                        ) {
                            Ok(()) => break,
                            Err(StoreError::Conflict) => conflicts += 1,
                            Err(other) => panic!("{other:?}"),
                        }
                    }
                }
                conflicts
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("the thread finishes");
    }
    assert_eq!(get(&f.store, b"n"), Some((2 * EACH).to_be_bytes().to_vec()));
}

#[test]
fn store_specs() {
    for spec in
        ["memory", "sqlite:some/where.sqlite", "redis://127.0.0.1:1/0", "redis://localhost", "redis+unix:///tmp/r.sock"]
            .into_iter()
            .chain(["redis://alice:secret@127.0.0.1:1/2", "redis://:secret@localhost", "rediss://cache.example:6380/0"])
    {
        assert!(Store::open(spec).is_ok(), "{spec} opens (nothing is reached before first use)");
    }
    for (spec, message) in [
        ("nowhere", "unknown store `nowhere`: use `memory`, `sqlite:PATH`, `redis://HOST:PORT/DB` or `rediss://…`"),
        ("sqlite:", "`sqlite:` needs a file path"),
        ("redis://127.0.0.1:1/x", "is not a Redis URL"),
        // A password in a URL that does not parse is not repeated in the message.
        ("redis://alice:s3cret@127.0.0.1:1/x", "`redis://alice:***@127.0.0.1:1/x` is not a Redis URL"),
        ("", "unknown store ``"),
    ] {
        match Store::open(spec) {
            Err(error) => assert!(error.contains(message), "{spec}: {error}"),
            Ok(store) => panic!("{spec} opened {store:?}"),
        }
    }
}

#[test]
fn sqlite_makes_its_file_on_first_use_and_keeps_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("not/yet/home.sqlite");
    let store = Store::sqlite(&path);
    assert!(!dir.path().join("not").exists(), "nothing is made before the store is used");
    set(&store, b"k", b"v");
    assert!(path.is_file());
    drop(store);
    assert_eq!(get(&Store::sqlite(&path), b"k"), Some(b"v".to_vec()), "the file keeps the data");
    let file = rusqlite::Connection::open(&path).expect("opens");
    let page_size: i64 = file.query_row("PRAGMA page_size", [], |row| row.get(0)).expect("reads");
    assert_eq!(page_size, 16384, "new files have 16 KiB pages (docs/HOME.md)");
}

#[test]
fn sqlite_refuses_a_file_a_component_holds() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("home.sqlite");
    set(&Store::sqlite(&path), b"k", b"v");
    // What SQLite's unix-dotfile locking in a WASI component leaves while it has the file open.
    std::fs::create_dir(dir.path().join("home.sqlite.lock")).expect("makes the lock");
    let refused = Store::sqlite(&path).get(BUCKET, b"k").expect_err("refused");
    let StoreError::Unavailable(message) = refused else { panic!("{refused:?}") };
    assert!(message.contains("home.sqlite.lock") && message.contains("WASI"), "{message}");
    std::fs::remove_dir(dir.path().join("home.sqlite.lock")).expect("removes the lock");
    assert_eq!(get(&Store::sqlite(&path), b"k"), Some(b"v".to_vec()), "usable once it is gone");
}

#[test]
fn an_open_sqlite_store_leaves_the_mark_components_look_for() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("home.sqlite");
    let store = Store::sqlite(&path);
    set(&store, b"k", b"v");
    assert!(dir.path().join("home.sqlite-shm").exists(), "WAL's index marks the file as open");
    drop(store);
    assert!(!dir.path().join("home.sqlite-shm").exists(), "and goes with the last connection");
}

#[test]
fn sqlite_files_made_before_keep_their_page_size() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("home.sqlite");
    let file = rusqlite::Connection::open(&path).expect("opens");
    file.execute_batch("PRAGMA page_size = 4096; CREATE TABLE older (x)").expect("makes a file");
    drop(file);
    let store = Store::sqlite(&path);
    set(&store, b"k", b"v");
    drop(store);
    let file = rusqlite::Connection::open(&path).expect("opens");
    let page_size: i64 = file.query_row("PRAGMA page_size", [], |row| row.get(0)).expect("reads");
    assert_eq!(page_size, 4096);
    assert_eq!(get(&Store::sqlite(&path), b"k"), Some(b"v".to_vec()));
}

#[test]
fn sqlite_that_cannot_be_made_is_unavailable() {
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    let store = Store::sqlite(file.path().join("home.sqlite"));
    match store.get(BUCKET, b"k") {
        Err(StoreError::Unavailable(message)) => assert!(message.contains("SQLite"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn redis_out_of_reach_is_unavailable() {
    let port = free_port();
    let store = Store::redis(&format!("redis://127.0.0.1:{port}/0")).expect("a Redis URL");
    match store.get(BUCKET, b"k") {
        Err(StoreError::Unavailable(message)) => assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn redis_connection_lost_fails_one_operation_then_is_made_again() {
    let server = RedisServer::start();
    let store = Store::redis(&server.url(0)).expect("a Redis URL");
    set(&store, b"k", b"1");
    server.drop_clients();
    assert!(matches!(store.get(BUCKET, b"k"), Err(StoreError::Unavailable(_))));
    assert_eq!(get(&store, b"k"), Some(b"1".to_vec()), "connected again");
}
