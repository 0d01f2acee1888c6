//! The conversions between bindings of wit/kv.wit's `kv` interface and this crate's types. Two
//! sides serve that interface over a [`Store`](crate::Store): the Rust host (wasmtime's bindings)
//! and the provider components (wit-bindgen's). The two generators give the same names, so one
//! macro, given the module of either's bindings, writes the conversions for it.

/// Defines, next to a `use … as $wit` of a `kv` binding: `to_wit(StoreError) -> $wit::Error`
/// (every failure without a name in the contract is `unavailable`), `range($wit::Keys) ->
/// KeyRange`, `page((PackedEntries, cursor)) -> $wit::Page`, `store_writes(Vec<$wit::Write>)` and
/// `store_expectations(Vec<$wit::Expectation>)`.
#[macro_export]
macro_rules! wit_conversions {
    ($wit:ident) => {
        fn to_wit(error: $crate::StoreError) -> $wit::Error {
            match error {
                $crate::StoreError::Conflict => $wit::Error::Conflict,
                $crate::StoreError::TooLarge(message) => $wit::Error::TooLarge(message),
                $crate::StoreError::Unavailable(message) => $wit::Error::Unavailable(message),
                other => $wit::Error::Unavailable(other.to_string()),
            }
        }

        fn range(keys: $wit::Keys) -> $crate::KeyRange {
            match keys {
                $wit::Keys::Prefix(prefix) => $crate::KeyRange::prefix(&prefix),
                $wit::Keys::Range($wit::KeyRange { start, end }) => $crate::KeyRange { start, end },
            }
        }

        fn page((entries, cursor): ($crate::PackedEntries, Option<Vec<u8>>)) -> $wit::Page {
            $wit::Page { entries: entries.into_bytes(), cursor }
        }

        fn store_writes(writes: Vec<$wit::Write>) -> Vec<$crate::Write> {
            writes
                .into_iter()
                .map(|write| match write {
                    $wit::Write::Set($wit::Entry { key, value }) => $crate::Write::Set(key, value),
                    $wit::Write::Delete(key) => $crate::Write::Delete(key),
                    $wit::Write::DeleteKeys(keys) => $crate::Write::DeleteRange(range(keys)),
                })
                .collect()
        }

        fn store_expectations(expected: Vec<$wit::Expectation>) -> Vec<$crate::Expectation> {
            expected.into_iter().map(|e| $crate::Expectation { key: e.key, value: e.value }).collect()
        }
    };
}
