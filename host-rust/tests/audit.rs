//! The audit log through the real component on every backend: an entry per committed listed
//! operation, none for what failed, kept across units and snapshot restores, and settings that
//! another unit changed are never missed.

mod common;

use common::backends::{run, unit_on};
use cu::{AuditEntry, Error, HomeOp, StoreErrorKind, UnitOptions, Value};

fn operations(log: &[AuditEntry]) -> Vec<&str> {
    log.iter().map(|e| e.operation.as_str()).collect()
}

on_every_backend! {
    listed_operations_are_logged_when_they_commit(store) {
        let mut unit = common::unit_with(
            UnitOptions::default().store(store.clone()).audit_label("alice"),
        );
        unit.enable_audit_log(&["set", "compute", "persistFunction", "batchTableOperations", "restoreSnapshot"]).expect("enables");
        unit.home_set("users.bob", &Value::Map(vec![(Value::from("age"), Value::Integer(30))])).expect("sets");
        run(&mut unit, "_home.users.bob.age = 31 _home.note = 'x'");
        run(&mut unit, "return 1 + 1"); // changes nothing: nothing to log
        assert!(unit.compute("_home.users.bob.age = 99 error('fails')").is_err());
        unit.home_delete("note").expect("deletes"); // not listed
        unit.persist_function("", "double", "function(x) return 2 * x end").expect("persists");
        unit.home_batch(&[HomeOp::Get { path: "users.bob.age".into() }]).expect("a batch that writes nothing");
        let log = unit.audit_log(None, None, None).expect("reads the log");
        assert_eq!(operations(&log), ["enableAuditLog", "set", "compute", "persistFunction"]);
        assert_eq!(log[0].targets, ["set", "compute", "persistFunction", "batchTableOperations", "restoreSnapshot"]);
        assert_eq!(log[1].targets, ["_home.users"]);
        assert_eq!(log[2].targets, ["_home.note", "_home.users.bob.age"]);
        assert_eq!(log[3].targets, ["_home.double"]);
        assert!(log.iter().all(|e| e.label.as_deref() == Some("alice")));
        assert!(log.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));

        // Filtered by time, kept across units, and not rewound by a restore (which is logged).
        let since = log[2].time_ms;
        assert!(unit.audit_log(Some(since), None, None).expect("reads").len() >= 2);
        assert_eq!(unit.audit_log(None, Some(log[0].time_ms), None).expect("reads")[0].operation, "enableAuditLog");
        assert_eq!(unit.audit_log(None, None, Some(2)).expect("reads").len(), 2);
        unit.save_snapshot("before").expect("saves");
        run(&mut unit, "_home.later = true");
        unit.restore_snapshot("before").expect("restores");
        let mut later = unit_on(store);
        let log = later.audit_log(None, None, None).expect("reads from another unit");
        assert_eq!(operations(&log)[4..], ["compute", "restoreSnapshot"]);
        assert_eq!(log[5].targets, ["before"]);
        assert_eq!(log[5].label.as_deref(), Some("alice"));

        // Turning it off is logged too; unknown operations are refused.
        later.enable_audit_log(&[]).expect("disables");
        run(&mut later, "_home.quiet = 1");
        let log = later.audit_log(None, None, None).expect("reads");
        assert_eq!(operations(&log).last(), Some(&"enableAuditLog"));
        assert_eq!(log.last().map(|e| e.label.clone()), Some(None));
        let refused = later.enable_audit_log(&["fly"]);
        assert!(matches!(&refused, Err(Error::Runtime { message, .. }) if message.contains("unknown operation 'fly'")), "{refused:?}");
    }

    settings_changed_by_another_unit_are_not_missed(store) {
        let options = UnitOptions::default().store(store.clone());
        let mut first = common::unit_with(options.clone().retry_conflicts(false));
        let mut retrying = common::unit_with(options);
        run(&mut first, "_home.n = 0");
        run(&mut retrying, "_home.n = _home.n");
        let mut second = unit_on(store);
        second.enable_audit_log(&["compute"]).expect("enables");
        // Both units read the settings before: their commits under them fail. The first unit
        // reports it, and nothing is lost; the other runs its call again, under the new settings.
        let stale = first.compute("_home.n = _home.n + 1");
        assert!(matches!(stale, Err(Error::Store { kind: StoreErrorKind::Conflict, .. })), "{stale:?}");
        run(&mut retrying, "_home.n = _home.n + 1");
        let log = second.audit_log(None, None, None).expect("reads");
        assert_eq!(operations(&log), ["enableAuditLog", "compute"]);
        assert_eq!(common::backends::one(&mut second, "return _home.n"), Value::Integer(1));
    }
}
