//! Redis as a shared store is deployed: a password, a user of its ACL, TLS with a certificate
//! the client must trust, and connections for operations at once. Each through `cu` itself
//! (`--store URL`), as a user gives it, against a real `redis-server`.

mod common;

use std::process::Output;

use common::redis_server::RedisServer;

/// `cu --store STORE eval CODE` in a directory of its own, with `env`.
fn cu(store: &str, code: &str, env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let cache = std::env::temp_dir().join("cu-test-cache");
    let mut command = common::cu_command(&cache);
    command.args(["--store", store, "eval", code]).envs(env.iter().copied());
    command.current_dir(std::env::temp_dir()).output().expect("cu runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes with `writer`, reads back with `reader`, both `cu` processes.
fn round_trip(writer: &str, reader: &str, env: &[(&str, &std::ffi::OsStr)]) {
    let wrote = cu(writer, "_home.greeting = 'hello over ' .. 'redis'", env);
    assert!(wrote.status.success(), "{}", text(&wrote.stderr));
    let read = cu(reader, "return _home.greeting", env);
    assert_eq!((text(&read.stdout), text(&read.stderr)), ("\"hello over redis\"\n".into(), String::new()));
}

#[test]
fn a_password_and_an_acl_user_in_the_url() {
    let redis = RedisServer::configured(
        false,
        &["--requirepass", "sesame", "--user", "alice", "on", ">wonderland", "~*", "&*", "+@all"],
        false,
    );
    let port = redis.port();
    let with_password = format!("redis://:sesame@127.0.0.1:{port}/0");
    let as_alice = format!("redis://alice:wonderland@127.0.0.1:{port}/0");
    round_trip(&with_password, &as_alice, &[]);

    // Without credentials, or with wrong ones, cu says so, and never repeats the password.
    let anonymous = cu(&redis.url(0), "return _home.greeting", &[]);
    assert_eq!(anonymous.status.code(), Some(1));
    assert!(text(&anonymous.stderr).contains("NOAUTH"), "{}", text(&anonymous.stderr));
    let wrong = cu(&format!("redis://alice:not-it@127.0.0.1:{port}/0"), "return _home.greeting", &[]);
    assert_eq!(wrong.status.code(), Some(1));
    let message = text(&wrong.stderr);
    assert!(message.contains("authentication failed") && !message.contains("not-it"), "{message}");
}

#[test]
fn tls_with_a_certificate_the_client_trusts() {
    let redis = RedisServer::configured(false, &[], true);
    let url = redis.url(0);
    assert!(url.starts_with("rediss://"));
    let ca = redis.ca_file();
    round_trip(&url, &url, &[("SSL_CERT_FILE", ca.as_os_str())]);

    // A server whose certificate nothing trusts is refused, and nothing is written.
    let untrusted = cu(&url, "_home.greeting = 'unchecked'", &[("SSL_CERT_FILE", std::ffi::OsStr::new("/dev/null"))]);
    assert_eq!(untrusted.status.code(), Some(1));
    let message = text(&untrusted.stderr);
    assert!(message.contains("certificate") || message.contains("Certificate"), "{message}");
    let read = cu(&url, "return _home.greeting", &[("SSL_CERT_FILE", ca.as_os_str())]);
    assert_eq!(text(&read.stdout), "\"hello over redis\"\n");
}

#[test]
fn units_at_once_use_connections_of_their_own() {
    let redis = RedisServer::start();
    let store = cu::Store::open(&redis.url(5)).expect("a Redis URL");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut unit = common::unit_with(cu::UnitOptions::default().store(store));
                for _ in 0..20 {
                    common::values(&mut unit, &format!("_home['t{t}'] = (_home['t{t}'] or 0) + 1"));
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().expect("a unit's thread"));
    let mut unit = common::unit_with(cu::UnitOptions::default().store(store));
    let total = common::values(&mut unit, "local n = 0 for t = 0, 7 do n = n + _home['t' .. t] end return n");
    assert_eq!(total, vec![cu::Value::Integer(160)]);
    // Each thread's operations ran on connections of their own: Redis saw several clients at once.
    let client = ::redis::Client::open(redis.url(0)).expect("a URL");
    let mut connection = client.get_connection().expect("connects");
    let info: String = ::redis::cmd("INFO").arg("stats").query(&mut connection).expect("INFO");
    let connections: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_connections_received");
    assert!(connections > 2, "{connections} connections for 8 units at once");
}
