//! `_home` through the real component, on every backend: persistence across units, stored
//! functions and closures, transactions, table semantics, and bad input.

mod common;

use common::backends::{one, run, unit_on};
use common::hooked;
use cu::{Error, HomeKind, HomeOp, Store, StoreErrorKind, UnitOptions, Value};

fn int(i: i64) -> Value {
    Value::Integer(i)
}

on_every_backend! {
    seed_data_persists_across_units(store) {
        run(&mut unit_on(store), "
            _home.users = _home.users or {}
            _home.users.user1 = { name = 'Alice', age = 30 }
            _home.users.user2 = { name = 'Bob', age = 25 }
        ");
        let mut later = unit_on(store);
        assert_eq!(one(&mut later, "return _home.users.user1.name"), Value::from("Alice"));
        assert_eq!(one(&mut later, "
            local n, ages = 0, 0
            for key, user in pairs(_home.users) do n = n + 1 ages = ages + user.age end
            return n * 1000 + ages
        "), int(2055));
    }

    seed_fibonacci_is_a_stored_function(store) {
        run(&mut unit_on(store), "
            function _home.fibonacci(n)
                if n <= 1 then return n end
                return _home.fibonacci(n - 1) + _home.fibonacci(n - 2)
            end
        ");
        assert_eq!(one(&mut unit_on(store), "return _home.fibonacci(10)"), int(55));
    }

    seed_counter_closure_keeps_counting_across_restarts(store) {
        run(&mut unit_on(store), "
            local count = 0
            function _home.counterFactory()
                count = count + 1
                return count
            end
        ");
        assert_eq!(run(&mut unit_on(store), "return _home.counterFactory(), _home.counterFactory()"), vec![int(1), int(2)]);
        assert_eq!(one(&mut unit_on(store), "return _home.counterFactory()"), int(3));
    }

    shared_upvalues_stay_shared(store) {
        run(&mut unit_on(store), "
            local n = 0
            function _home.inc() n = n + 1 end
            function _home.get() return n end
        ");
        assert_eq!(one(&mut unit_on(store), "_home.inc() _home.inc() return _home.get()"), int(2));
        assert_eq!(one(&mut unit_on(store), "_home.inc() return _home.get()"), int(3));
    }

    function_with_a_stored_table_as_upvalue(store) {
        run(&mut unit_on(store), "
            _home.config = { rate = 0.1 }
            local config = _home.config
            local cache = {}
            function _home.tax(income)
                cache[#cache + 1] = income
                return income * config.rate
            end
            function _home.seen() return #cache end
        ");
        assert_eq!(one(&mut unit_on(store), "return _home.tax(1000)"), Value::Float(100.0));
        assert_eq!(one(&mut unit_on(store), "_home.config.rate = 0.2 return _home.tax(1000)"), Value::Float(200.0));
        assert_eq!(one(&mut unit_on(store), "return _home.seen()"), int(2));
    }

    library_functions_and_globals_in_stored_functions(store) {
        run(&mut unit_on(store), "
            local fmt, insert = string.format, table.insert
            function _home.describe(t)
                local parts = {}
                for _, v in ipairs(t) do insert(parts, fmt('<%s>', v)) end
                return table.concat(parts)
            end
            _home.printer = print
        ");
        let mut later = unit_on(store);
        assert_eq!(one(&mut later, "return _home.describe({1, 'a'})"), Value::from("<1><a>"));
        assert_eq!(one(&mut later, "return _home.printer == print"), Value::Boolean(true));
    }

    a_failed_call_writes_nothing(store) {
        let mut unit = unit_on(store);
        run(&mut unit, "_home.kept = 1");
        let failures = [
            "_home.x = 1 _home.kept = 2 error('boom')",
            "_home.x = 1 _home.kept = 2 while true do end",
            "_home.x = 1 _home.kept = 2 local t = {} for i = 1, 1e9 do t[i] = {} end",
            "_home.x = 1 _home.kept = 2 return function() end",
        ];
        for code in failures {
            assert!(unit.compute(code).is_err(), "`{code}` should fail");
            assert_eq!(run(&mut unit_on(store), "return _home.x, _home.kept"), vec![Value::Nil, int(1)], "after `{code}`");
            assert_eq!(run(&mut unit, "return _home.x, _home.kept"), vec![Value::Nil, int(1)], "after `{code}`");
        }
    }

    reads_see_the_calls_own_writes_and_tables_keep_identity(store) {
        let mut unit = unit_on(store);
        assert_eq!(run(&mut unit, "
            local t = { v = 1 }
            _home.a = t
            _home.b = t
            t.v = 2
            return _home.a.v, rawequal(_home.a, t), rawequal(_home.a, _home.b)
        "), vec![int(2), Value::Boolean(true), Value::Boolean(true)]);
        assert_eq!(run(&mut unit_on(store), "
            local same = rawequal(_home.a, _home.b)
            _home.a.v = 3
            return same, _home.b.v
        "), vec![Value::Boolean(true), int(3)]);
        assert_eq!(one(&mut unit_on(store), "return _home.b.v"), int(3));
    }

    stored_tables_work_like_tables(store) {
        run(&mut unit_on(store), "_home.list = {5, 3, 9, 1} _home.map = {x = 1, y = 2}");
        let mut unit = unit_on(store);
        assert_eq!(run(&mut unit, "
            local l = _home.list
            table.insert(l, 7)
            table.sort(l)
            local sum = 0
            for i, v in ipairs(l) do sum = sum + i * v end
            local keys = 0
            for k in pairs(_home.map) do keys = keys + 1 end
            local k, v = next(_home.map)
            return #l, sum, keys, type(k), next({}) == nil
        "), vec![int(5), int(1 + 2 * 3 + 3 * 5 + 4 * 7 + 5 * 9), int(2), Value::from("string"), Value::Boolean(true)]);
        assert_eq!(
            one(&mut unit_on(store), "return _home.list"),
            Value::Array(vec![int(1), int(3), int(5), int(7), int(9)])
        );
    }

    assigning_nil_deletes_and_frees_what_it_held(store) {
        let mut unit = unit_on(store);
        run(&mut unit, "_home.tree = { a = { b = { c = {1, 2, 3} } }, f = function() return 1 end }");
        let full = count_nodes(store);
        run(&mut unit, "_home.tree = nil");
        assert_eq!(one(&mut unit_on(store), "return _home.tree"), Value::Nil);
        // The small tables are embedded in the tree's entry; the tree holds a function, so it is a node.
        assert!(full >= 3, "the tree and its function are nodes: {full}");
        assert_eq!(count_nodes(store), 1, "only _home itself is left");
    }

    things_that_cannot_be_stored_are_refused_at_assignment(store) {
        let mut unit = unit_on(store);
        for (code, expected) in [
            ("_home.co = coroutine.create(print)", "_home.co: a thread (coroutine) cannot be stored"),
            ("local co = coroutine.create(print) _home.f = function() return co end", "upvalue 1 is a thread"),
            ("_home[{}] = 1", "a table cannot be a key"),
            ("_home[string.rep('k', 5000)] = 1", "the key is 5001 bytes"),
            ("_home.big = string.rep('x', 17 * 1024 * 1024)", "more than the store's limit"),
        ] {
            let message = match unit.compute(code) {
                Err(Error::Runtime { message, .. }) => message,
                other => panic!("`{code}` gave {other:?}"),
            };
            assert!(message.contains(expected), "`{code}`: {message}");
            let caught = format!("local ok, e = pcall(function() {code} end) return ok");
            assert_eq!(one(&mut unit, &caught), Value::Boolean(false), "pcall catches `{code}`");
        }
        assert_eq!(count_nodes(store), 0, "nothing was written");
    }

    unstorable_values_deep_in_a_table_fail_the_commit(store) {
        let mut unit = unit_on(store);
        run(&mut unit, "_home.kept = 1");
        match unit.compute("_home.kept = 2 _home.t = { inner = { co = coroutine.create(print) } }") {
            Err(Error::Conversion { path, reason }) => {
                assert_eq!(path, "_home.t.inner.co");
                assert!(reason.contains("thread"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(run(&mut unit, "return _home.kept, _home.t"), vec![int(1), Value::Nil]);
        match unit.compute("_home.obj = setmetatable({}, {__index = string})") {
            Err(Error::Conversion { path, reason }) => {
                assert_eq!(path, "_home.obj");
                assert!(reason.contains("metatable"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    corrupt_bytes_name_the_key_and_spare_the_rest(store) {
        let mut unit = unit_on(store);
        run(&mut unit, "_home.good = 'fine' _home.bad = 'soon broken'");
        let key = entry_key(0, b"bad");
        let mut value = store.get("home", &key).expect("reads").expect("the entry exists");
        let last = value.len() - 1;
        value[last] ^= 0xff;
        store.set("home", &key, &value).expect("writes");
        match unit.compute("return _home.bad") {
            Err(Error::Runtime { message, .. }) => {
                assert!(message.contains("_home.bad cannot be read"), "{message}");
                assert!(message.contains("checksum"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(one(&mut unit, "return _home.good"), Value::from("fine"));
        assert_eq!(one(&mut unit, "return select(2, pcall(function() return _home.bad end)):match('checksum') ~= nil"), Value::Boolean(true));
    }

    values_of_older_formats_are_read_and_the_bucket_upgraded(store) {
        // Formats 1 and 2 sealed values with a CRC-32; format 3 with XXH64's low 32 bits.
        for format in [1u8, 2] {
            let mut value = vec![format, b'S'];
            value.extend_from_slice(format!("format {format}").as_bytes());
            let sum = crc32fast::hash(&value);
            value.extend_from_slice(&sum.to_le_bytes());
            store.set("home", &entry_key(0, format!("v{format}").as_bytes()), &value).expect("writes");
        }
        store.set("home", b"f", &[2]).expect("writes");
        let mut unit = unit_on(store);
        assert_eq!(run(&mut unit, "return _home.v1, _home.v2"), ["format 1", "format 2"].map(Value::from));
        run(&mut unit, "_home.v2 = _home.v2 .. ', rewritten'");
        assert_eq!(store.get("home", b"f").expect("reads"), Some(vec![3]), "a commit upgrades the bucket");
        assert_eq!(run(&mut unit, "return _home.v1, _home.v2"), ["format 1", "format 2, rewritten"].map(Value::from));
        // A value sealed as format 3 with a CRC-32 is damaged.
        let mut forged = vec![3, b'S', b'x'];
        let sum = crc32fast::hash(&forged);
        forged.extend_from_slice(&sum.to_le_bytes());
        store.set("home", &entry_key(0, b"forged"), &forged).expect("writes");
        let message = format!("{:?}", unit.compute("return _home.forged"));
        assert!(message.contains("checksum does not match"), "{message}");
    }

    concurrent_writers_lose_no_update(store) {
        // Two units increment one counter from two threads; the unit runs a conflicted call again.
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let mut unit = unit_on(&store);
                    for _ in 0..25 {
                        run(&mut unit, "_home.n = (_home.n or 0) + 1");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("the thread finishes");
        }
        assert_eq!(one(&mut unit_on(store), "return _home.n"), int(50));
    }

    seed_quick_start_persists_a_recursive_function(store) {
        let mut unit = unit_on(store);
        // As the seed writes it: the function calls itself by the name it is persisted under.
        unit.persist_function("", "fibonacci", "
                function(n)
                    if n <= 1 then return n end
                    return fibonacci(n - 1) + fibonacci(n - 2)
                end
            ").expect("persists");
        assert_eq!(one(&mut unit_on(store), "return _home.fibonacci(10)"), int(55));
        let analytics = include_str!("../../tests/seeds/analytics.lua");
        unit.persist_function("lib.stats", "analytics", analytics).expect("persists a table of functions");
        assert_eq!(
            run(&mut unit_on(store), "local a = _home.lib.stats.analytics return a.average({1, 2, 3, 6}), a.median({5, 1, 3})"),
            vec![Value::Float(3.0), int(3)]
        );
        // Code that does not compile, or gives no function, is refused and writes nothing.
        let refused = unit.persist_function("", "broken", "function(x) return x +");
        assert!(matches!(&refused, Err(Error::Runtime { message, .. }) if message.contains("broken:1:") && message.contains("unexpected symbol")), "{refused:?}");
        let refused = unit.persist_function("", "number", "42");
        assert!(matches!(&refused, Err(Error::Runtime { message, .. }) if message.contains("gives a number, not a function")), "{refused:?}");
        assert!(unit.persist_function("fibonacci", "x", "function() end").is_err(), "a function is not a table");
        assert_eq!(run(&mut unit, "return _home.broken, _home.number"), vec![Value::Nil, Value::Nil]);
    }

    validate_function_compiles_without_running(store) {
        let mut unit = unit_on(store);
        let valid = unit.validate_function("function(x) error('never run') end").expect("validates");
        assert!(valid.is_valid && valid.error.is_none() && valid.line.is_none(), "{valid:?}");
        // The seed's own taxCalculator uses a default argument, which Lua does not have.
        let invalid = unit.validate_function("\n    function(income, deductions = 0)\n        return income\n    end").expect("validates");
        assert!(!invalid.is_valid);
        assert_eq!(invalid.line, Some(2));
        assert!(invalid.error.as_deref().is_some_and(|e| e.contains("code:2:")), "{invalid:?}");
        assert_eq!(run(&mut unit, "local v = require('home').validateFunction('function(') return v.isValid, v.line"), vec![Value::Boolean(false), int(1)]);
    }

    small_tables_are_embedded_until_they_are_shared_or_grow(store) {
        let mut unit = unit_on(store);
        let tables = |unit: &mut cu::Unit| unit.home_stats().expect("stats").tables;
        run(&mut unit, "_home.t = { a = { x = 1 }, list = { 1, 2, 3 } }");
        assert_eq!(tables(&mut unit), 1, "t, a and list are embedded in _home's entry");
        // A second place makes it a node both places share.
        run(&mut unit, "_home.u = _home.t.a");
        assert_eq!(run(&mut unit, "_home.u.x = 2 return _home.t.a.x, rawequal(_home.t.a, _home.u)"), vec![int(2), Value::Boolean(true)]);
        assert_eq!(one(&mut unit_on(store), "_home.t.a.y = 'shared' return _home.u.y"), Value::from("shared"));
        assert!(tables(&mut unit) >= 3, "a, and t holding it, are nodes now");
        // Growing past the limit makes a table a node; its content stays.
        run(&mut unit, "_home.g = { n = 0 }");
        run(&mut unit, "for i = 1, 200 do _home.g['k' .. i] = string.rep('x', 20) end");
        assert_eq!(one(&mut unit_on(store), "local n = 0 for _ in pairs(_home.g) do n = n + 1 end return n"), int(201));
        // A proxy kept from an earlier call still reaches its place; a function in it makes it a node.
        run(&mut unit, "_home.r = { v = 1 }");
        run(&mut unit, "kept = _home.r");
        run(&mut unit, "kept.v = 2");
        assert_eq!(one(&mut unit_on(store), "return _home.r.v"), int(2));
        run(&mut unit, "_home.r.f = function() return 'f' end");
        assert_eq!(one(&mut unit_on(store), "return _home.r.f() .. _home.r.v"), Value::from("f2"));
        // Arrays keep their shape and order, and nested tables their nesting.
        run(&mut unit, "_home.deep = { a = { b = { c = { 'x', 'y' } } }, empty = setmetatable({}, { __jsontype = 'array' }) }");
        assert_eq!(unit.home_get::<serde_json::Value>("deep").expect("gets"), serde_json::json!({"a": {"b": {"c": ["x", "y"]}}, "empty": []}));
    }

    long_strings_and_functions_are_stored_compressed(store) {
        let mut unit = unit_on(store);
        run(&mut unit, "
            _home.text = string.rep('all work and no play makes jack a dull boy ', 2000)
            _home.short = 'short'
            local body = {}
            for i = 1, 150 do body[#body + 1] = 'local v' .. i .. ' = ' .. i end
            _home.long = load('return function() ' .. table.concat(body, ' ') .. ' return 42 end')()
        ");
        let bytes = unit.home_stats().expect("stats").bytes;
        assert!(bytes < 40_000, "86,000 bytes of text and a long function took {bytes} bytes");
        assert_eq!(run(&mut unit_on(store), "return #_home.text, _home.text:sub(1, 8), _home.short, _home.long()"),
            vec![int(86_000), Value::from("all work"), Value::from("short"), int(42)]);
    }
}

#[test]
fn host_operations_and_snapshots() {
    let store = Store::memory();
    let mut unit = unit_on(&store);
    unit.home_set("users.alice", &serde_json::json!({"age": 30})).expect("sets");
    unit.home_set("list", &vec![1, 2, 3]).expect("sets");
    run(&mut unit, "function _home.f() return 1 end");
    assert_eq!(unit.home_get::<i64>("users.alice.age").expect("gets"), 30);
    assert_eq!(unit.home_get::<i64>("_home.list[3]").expect("gets"), 3);
    let keys: Vec<(Value, HomeKind)> = unit.home_keys("").expect("lists");
    assert_eq!(
        keys,
        vec![
            (Value::from("f"), HomeKind::Function),
            (Value::from("list"), HomeKind::Table),
            (Value::from("users"), HomeKind::Table)
        ]
    );
    let saved = unit.save_snapshot("before").expect("saves");
    // `_home` and `f` are nodes; `list` and `users` are small enough to be embedded in `_home`.
    assert!(saved.keys >= 5, "{saved:?}");
    unit.home_delete("users").expect("deletes");
    run(&mut unit, "_home.list[1] = 100 _home.extra = true");
    assert_eq!(unit.home_stats().expect("counts").tables, 1);
    unit.restore_snapshot("before").expect("restores");
    assert_eq!(
        run(&mut unit, "return _home.users.alice.age, _home.list[1], _home.extra, _home.f()"),
        vec![int(30), int(1), Value::Nil, int(1)]
    );
    assert_eq!(unit.list_snapshots().expect("lists").iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["before"]);
    assert!(unit.delete_snapshot("before").expect("deletes"));
    assert!(!unit.delete_snapshot("before").expect("deletes"));
    assert!(matches!(unit.restore_snapshot("before"), Err(Error::Runtime { .. })));
    assert!(unit.home_get::<Value>("users.alice.age.x").is_err(), "a number is not a table");
    unit.home_set("_homework", &1).expect("sets");
    assert_eq!(run(&mut unit, "return _home._homework"), [int(1)], "`_homework` is a key, not `_home` + `work`");
}

#[test]
fn a_batch_is_one_transaction() {
    let store = Store::memory();
    let mut unit = unit_on(&store);
    let set = |path: &str, value: Value| HomeOp::Set { path: path.into(), value };
    let get = |path: &str| HomeOp::Get { path: path.into() };
    let results = unit
        .home_batch(&[
            set("users.alice", Value::Map(vec![(Value::from("age"), int(30))])),
            set("users.bob.age", int(40)),
            get("users.alice.age"),
            HomeOp::Delete { path: "users.alice".into() },
            get("users.alice"),
            get("users.bob.age"),
        ])
        .expect("the batch runs");
    assert_eq!(results, [Value::Nil, Value::Nil, int(30), Value::Nil, Value::Nil, int(40)]);
    assert_eq!(one(&mut unit, "return _home.users.bob.age"), int(40));

    // The second operation fails (a number is not a table), so the first is not written either.
    let failed = unit.home_batch(&[set("users.carol", int(1)), set("users.bob.age.x", int(2))]);
    assert!(matches!(failed, Err(Error::Runtime { .. })), "{failed:?}");
    assert_eq!(one(&mut unit, "return _home.users.carol"), Value::Nil);

    // The seeds' form, through serde.
    let ops: Vec<HomeOp> = serde_json::from_str(
        r#"[{"type": "set", "path": "appUsers.user_1", "value": {"score": 7}}, {"type": "get", "path": "appUsers.user_1.score"}]"#,
    )
    .expect("parses");
    assert_eq!(unit.home_batch(&ops).expect("runs"), [Value::Nil, int(7)]);
    let unknown = serde_json::from_str::<Vec<HomeOp>>(r#"[{"type": "upsert", "path": "x"}]"#);
    assert!(unknown.is_err_and(|e| e.to_string().contains("unknown variant `upsert`")));
}

#[test]
fn a_snapshot_is_one_state_or_a_conflict() {
    let interfered = |retry: bool| {
        let inner = Store::memory();
        run(&mut unit_on(&inner), "_home.a = {x = 1} _home.b = {y = 1}");
        // Another unit commits after the save read `_home`, before it commits.
        let (other, once) = (inner.clone(), std::sync::Once::new());
        let interfering =
            hooked::before_commit(inner, move || once.call_once(|| drop(run(&mut unit_on(&other), "_home.b.y = 2"))));
        let options = UnitOptions::default().store(interfering).retry_conflicts(retry);
        common::unit_with(options)
    };
    let mut unit = interfered(false);
    let saved = unit.save_snapshot("s");
    assert!(matches!(saved, Err(Error::Store { kind: StoreErrorKind::Conflict, .. })), "{saved:?}");
    assert!(unit.list_snapshots().expect("lists").is_empty(), "the failed save wrote nothing");
    // Conflicts retried, as by default, the save is run again and holds the other write.
    let mut unit = interfered(true);
    unit.save_snapshot("s").expect("saves");
    run(&mut unit, "_home.b.y = 3");
    unit.restore_snapshot("s").expect("restores");
    assert_eq!(run(&mut unit, "return _home.a.x, _home.b.y"), [int(1), int(2)]);
}

/// A store that breaks the kv contract: reads of many keys return no values (when `reads`), or
/// scan pages have a cursor pointing back to where they started.
#[derive(Debug)]
struct Broken {
    reads: bool,
}

impl cu::Backend for Broken {
    fn get_many(&self, _: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, cu::StoreError> {
        Ok(if self.reads { Vec::new() } else { vec![None; keys.len()] })
    }

    fn scan(&self, _: &str, range: &cu::KeyRange, _: &[u8], _: usize) -> Result<cu::Page, cu::StoreError> {
        Ok(cu::Page { entries: Vec::new(), cursor: Some(range.start.clone()) })
    }

    fn scan_reverse(
        &self,
        _: &str,
        range: &cu::KeyRange,
        _: std::ops::Bound<&[u8]>,
        _: usize,
    ) -> Result<cu::Page, cu::StoreError> {
        Ok(cu::Page { entries: Vec::new(), cursor: range.end.clone() })
    }

    fn commit(&self, _: &str, _: &[cu::Write], _: &[cu::Expectation]) -> Result<(), cu::StoreError> {
        Ok(())
    }
}

#[test]
fn a_broken_store_is_reported_not_trusted() {
    let broken = |error: Error| assert!(error.to_string().contains("the host's store is broken"), "{error}");
    let mut unit = unit_on(&Store::from_backend(Broken { reads: true }));
    broken(unit.compute("return _home.x").expect_err("fails"));
    common::assert_alive(&mut unit);
    let mut unit = unit_on(&Store::from_backend(Broken { reads: false }));
    broken(unit.home_stats().expect_err("fails"));
    common::assert_alive(&mut unit);
}

#[test]
fn a_commit_that_lost_the_store_reports_its_own_error() {
    // A store that goes away during a commit, as a Redis server killed before it answered does:
    // the commit fails saying it may have been applied, and every operation after it fails too
    // until the store is back.
    let gone = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let going = gone.clone();
    let vanishing = hooked::Hooked::store(Store::memory(), move |op| {
        if going.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(cu::StoreError::Unavailable("connection refused".into()));
        }
        if op == hooked::Op::Commit {
            going.store(true, std::sync::atomic::Ordering::SeqCst);
            return Err(cu::StoreError::Unavailable("lost during the commit, which may have been applied".into()));
        }
        Ok(())
    });
    let mut unit = unit_on(&vanishing);
    // The unit reads its settings again after a failed commit; that failing too must not hide
    // what the commit said.
    let error = unit.compute("_home.x = 1").expect_err("the commit fails");
    assert!(error.to_string().contains("which may have been applied"), "{error}");
    gone.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(one(&mut unit, "return _home.x"), Value::Nil);
    common::assert_alive(&mut unit);
}

#[test]
fn a_unit_sees_what_another_committed_since_its_last_call() {
    let store = Store::memory();
    let (mut a, mut b) = (unit_on(&store), unit_on(&store));
    run(&mut a, "_home.x = 1");
    assert_eq!(one(&mut b, "return _home.x"), int(1));
    run(&mut a, "_home.x = 2");
    assert_eq!(one(&mut b, "return _home.x"), int(2));
}

#[test]
fn units_on_different_buckets_do_not_share() {
    let store = Store::memory();
    let mut a = unit_on(&store);
    let mut b = common::unit_with(UnitOptions::default().store(store.clone()).home("other"));
    run(&mut a, "_home.x = 1");
    assert_eq!(one(&mut b, "return _home.x"), Value::Nil);
}

/// The stored key of entry `key` (a string) of node `id` (docs/HOME.md).
fn entry_key(id: u64, key: &[u8]) -> Vec<u8> {
    let mut bytes = vec![b'e'];
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.push(b's');
    bytes.extend_from_slice(key);
    bytes
}

/// How many node records the `home` bucket holds.
fn count_nodes(store: &Store) -> usize {
    store.scan_all("home", b"n").expect("scans").len()
}
