//! The `_io` channel of a [`Unit`]: structured input, output and metadata, typed through serde.
//!
//! Lifetimes (the same in every host): `_io.input` and `_io.meta` stay until replaced, cleared or
//! the unit is reset, with whatever changes Lua code made to them; `_io.output` is set to nil when
//! each [`compute`](Unit::compute) or [`call`](Unit::call) starts and stays readable until the next.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::unit::{Outcome, Unit};
use crate::value::{Value, from_value, from_wit};

/// What [`Unit::compute_with_io`] produced.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct IoOutcome {
    /// Every value the code returned.
    pub values: Vec<Value>,
    /// `_io.output` after the call (nil when the code did not set it).
    pub output: Value,
    /// `_io.meta` after the call.
    pub meta: Value,
    /// The call's `print` output (empty with [`Print::Stdout`](crate::Print::Stdout)).
    pub printed: Vec<u8>,
    /// The instructions the call ran ([`Outcome::instructions`]).
    pub instructions: u64,
}

/// How far a [`Unit::process_stream`] run has come; passed to its progress callback after each batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamProgress {
    /// Batches processed so far.
    pub batches: usize,
    /// Items processed so far.
    pub items: usize,
    /// All items, when the iterator knew its length.
    pub total: Option<usize>,
}

impl Unit {
    /// Replaces `_io.input` with `input`.
    ///
    /// ```
    /// # let engine = cu::Engine::new()?;
    /// # let mut unit = engine.unit(cu::UnitOptions::default())?;
    /// unit.set_input(&serde_json::json!({"numbers": [1, 2, 3]}))?;
    /// let sum = unit.compute("local s = 0 for _, n in ipairs(_io.input.numbers) do s = s + n end return s")?;
    /// assert_eq!(sum.values, [cu::Value::Integer(6)]);
    /// # Ok::<(), cu::Error>(())
    /// ```
    pub fn set_input<T: Serialize + ?Sized>(&mut self, input: &T) -> Result<()> {
        let input = self.encode(input, "_io.input")?;
        self.call_guest(|store, cu, handle| cu.cu_unit_io_table().call_set_input(store, handle, &input))
    }

    /// Sets one field of `_io.input`, making it a table first if it is nil.
    pub fn set_input_field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<()> {
        let root = format!("_io.input.{key}");
        let value = self.encode(value, &root)?;
        self.call_guest(|store, cu, handle| cu.cu_unit_io_table().call_set_input_field(store, handle, key, &value))
    }

    /// Reads `_io.input`, with any changes Lua code made to it.
    pub fn input<T: DeserializeOwned>(&mut self) -> Result<T> {
        let value = self.call_guest(|store, cu, handle| cu.cu_unit_io_table().call_get_input(store, handle))?;
        from_wit(value, "_io.input")
    }

    /// Reads `_io.output` as the last call left it. Ask for [`Value`] to take whatever it is.
    pub fn output<T: DeserializeOwned>(&mut self) -> Result<T> {
        let value = self.call_guest(|store, cu, handle| cu.cu_unit_io_table().call_get_output(store, handle))?;
        from_wit(value, "_io.output")
    }

    /// Reads one field of `_io.output` (nil when it or the table is missing, so ask for an
    /// `Option` when that can happen).
    pub fn output_field<T: DeserializeOwned>(&mut self, key: &str) -> Result<T> {
        let value =
            self.call_guest(|store, cu, handle| cu.cu_unit_io_table().call_get_output_field(store, handle, key))?;
        from_wit(value, &format!("_io.output.{key}"))
    }

    /// Replaces `_io.meta` with `meta`.
    pub fn set_meta<T: Serialize + ?Sized>(&mut self, meta: &T) -> Result<()> {
        let meta = self.encode(meta, "_io.meta")?;
        self.call_guest(|store, cu, handle| cu.cu_unit_io_table().call_set_metadata(store, handle, &meta))
    }

    /// Reads `_io.meta`.
    pub fn meta<T: DeserializeOwned>(&mut self) -> Result<T> {
        let value = self.call_guest(|store, cu, handle| cu.cu_unit_io_table().call_get_metadata(store, handle))?;
        from_wit(value, "_io.meta")
    }

    /// Sets `_io.input`, `_io.output` and `_io.meta` to nil.
    pub fn clear_io(&mut self) -> Result<()> {
        self.call_guest(|store, cu, handle| cu.cu_unit_io_table().call_clear(store, handle).map(Ok))
    }

    /// Replaces `_io.input` with `input`, runs `code`, and returns what it returned with `_io.output`
    /// and `_io.meta` (which is kept from before the call unless the code changed it).
    pub fn compute_with_io<T: Serialize + ?Sized>(&mut self, code: impl AsRef<[u8]>, input: &T) -> Result<IoOutcome> {
        self.set_input(input)?;
        let Outcome { values, printed, instructions, .. } = self.compute(code)?;
        Ok(IoOutcome { values, output: self.output()?, meta: self.meta()?, printed, instructions })
    }

    /// Runs `code` once per batch of `batch_size` items, each batch in `_io.input.batch` (other
    /// fields of `_io.input` stay as they are), and collects `_io.output` of every batch. After
    /// each batch `progress` learns how far the run has come. The first failing batch ends the run
    /// with [`Error::Batch`].
    pub fn process_stream<T, O, I>(
        &mut self,
        code: impl AsRef<[u8]>,
        items: I,
        batch_size: usize,
        mut progress: impl FnMut(StreamProgress),
    ) -> Result<Vec<O>>
    where
        T: Serialize,
        O: DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        let mut outputs = Vec::new();
        self.for_each_batch(code, items, batch_size, |done, output| {
            outputs.push(output);
            progress(done);
            Ok(())
        })?;
        Ok(outputs)
    }

    /// Like [`process_stream`](Self::process_stream), handing each batch's output to `each` as it
    /// comes instead of collecting them; an error from `each` ends the run.
    pub fn for_each_batch<T, O, I>(
        &mut self,
        code: impl AsRef<[u8]>,
        items: I,
        batch_size: usize,
        mut each: impl FnMut(StreamProgress, O) -> Result<()>,
    ) -> Result<()>
    where
        T: Serialize,
        O: DeserializeOwned,
        I: IntoIterator<Item = T>,
    {
        let code = code.as_ref();
        let batch_size = batch_size.max(1);
        let mut items = items.into_iter();
        let total = match items.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        let mut done = StreamProgress { batches: 0, items: 0, total };
        loop {
            let batch: Vec<T> = items.by_ref().take(batch_size).collect();
            if batch.is_empty() {
                return Ok(());
            }
            let first = done.items + 1;
            let run = |unit: &mut Unit| {
                unit.set_input_field("batch", &batch)?;
                unit.compute(code)?;
                unit.output()
            };
            let output = run(self).map_err(|error| Error::Batch {
                batch: done.batches + 1,
                items: first..=done.items + batch.len(),
                source: Box::new(error),
            })?;
            done.batches += 1;
            done.items += batch.len();
            each(done, output)?;
        }
    }

    /// Calls the global Lua function `method` with `params` and returns its first result: the
    /// request/response pattern of a service written in Lua.
    ///
    /// ```
    /// # let engine = cu::Engine::new()?;
    /// # let mut unit = engine.unit(cu::UnitOptions::default())?;
    /// unit.compute("function double(p) return { value = p.value * 2 } end")?;
    /// let reply: serde_json::Value = unit.request("double", &serde_json::json!({"value": 21}))?;
    /// assert_eq!(reply["value"], 42);
    /// # Ok::<(), cu::Error>(())
    /// ```
    pub fn request<P: Serialize + ?Sized, R: DeserializeOwned>(&mut self, method: &str, params: &P) -> Result<R> {
        // Straight from `P` to the component's form and back to `R`, with no `Value` in between.
        let params = self.encode(params, "params")?;
        let outcome = self.call_encoded(method, &[params])?;
        let root = format!("the result of {method}");
        match outcome.values.into_iter().next() {
            Some(result) => from_wit(result, &root),
            None => from_value(Value::Nil, &root),
        }
    }
}
