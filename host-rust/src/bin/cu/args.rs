//! The command line: what `cu --help` shows.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use cu::Store;

pub use crate::limits::{Size, Timeout};

#[derive(Debug, Parser)]
#[command(
    name = "cu",
    version,
    about = "Run Lua 5.4 in the cu sandbox: a WebAssembly component with time and memory limits",
    long_about = "Run Lua 5.4 in the cu sandbox: a WebAssembly component with time and memory limits.\n\n\
        Scripts get Lua's base, string, table, math, utf8 and coroutine libraries, os.time, os.date, \
        os.clock and debug.traceback. They cannot reach files, the network, the environment or other \
        processes. `require` loads modules from the script's directory, --lib-dir and --path (read \
        by cu, never by the script) and from _home.modules.",
    after_help = "Exit status: 0 success; 1 the Lua code failed (error, limit, unconvertible value); \
        2 usage error, unreadable script or input; 3 the engine failed.\n\n\
        Examples:\n  cu eval 'return 2 + 2, \"two\", {a = 1}'\n  cu run script.lua one two\n  \
        cu run filter.lua --input data.json --json | jq .output\n  \
        cu stream double.lua --input items.json --batch 1000 --json\n  cu repl\n  \
        cu eval 'function _home.greet(n) return \"hi \" .. n end'   # kept in .cu/home.sqlite\n  \
        cu home keys\n  cu snapshot save before-import\n  \
        cu serve app.lua --port 8080 --store redis://localhost:6379/0"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print results as JSON: {"returns": [...], "output": ..., "printed": "..."}, where output is
    /// `_io.output` and printed collects what `print` wrote; `stream` prints each batch's output as
    /// one JSON line
    #[arg(long, global = true)]
    pub json: bool,

    /// A JSON file (or - for standard input) to put in `_io.input`; for `stream`, the array of items
    #[arg(short = 'i', long, global = true, value_name = "FILE")]
    pub input: Option<String>,

    /// JSON to put in `_io.meta`, e.g. '{"request": "r-1"}'
    #[arg(long, global = true, value_name = "JSON")]
    pub meta: Option<String>,

    /// Time limit per call: e.g. 500ms, 5s, 2m; 0 for none
    #[arg(short = 't', long, global = true, default_value = "5s", value_name = "DURATION")]
    pub timeout: Timeout,

    /// Lua heap limit: e.g. 64M, 1G (binary units), or bytes; 0 for none
    #[arg(short = 'm', long, global = true, default_value = "256M", value_name = "SIZE")]
    pub memory_limit: Size,

    /// Report a commit conflict instead of running the call again (by default a call that another
    /// writer's commit made fail is run again, up to 16 times within its time limit, unless it
    /// changed state outside `_home` or printed)
    #[arg(long, global = true)]
    pub no_retry: bool,

    /// Instructions each call may run, counted inside the unit so that the same script on the
    /// same data stops at the same point on every machine (a function call, a loop iteration, a
    /// step of a library loop); `--json` reports the count [default: no limit]
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub instructions: Option<u64>,

    /// Where the compiled component is cached [default: the user cache directory, e.g. ~/.cache/cu]
    #[arg(long, global = true, env = "CU_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile the component on every start instead of caching it
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Where `_home` is kept: sqlite:PATH (a file, made when `_home` is first used), memory (gone
    /// when cu exits), or redis://[USER:PASSWORD@]HOST:PORT/DB (a Redis server, which many hosts
    /// can share; rediss:// for TLS, trusting the system's CAs or SSL_CERT_FILE's). The
    /// default keeps it in .cu/home.sqlite under the current directory, so state persists between
    /// runs started there
    #[arg(
        long,
        global = true,
        env = "CU_STORE",
        default_value = "sqlite:.cu/home.sqlite",
        value_name = "STORE",
        value_parser = Store::open
    )]
    pub store: Store,

    /// Lua code to run before the command's own, as `lua -e` runs it (e.g. -e 'DEBUG = true');
    /// repeatable, in order
    #[arg(short = 'e', long = "execute", global = true, value_name = "CODE")]
    pub execute: Vec<std::ffi::OsString>,

    /// A directory where `require` finds modules, as DIR/NAME.lua or DIR/NAME/init.lua (dots in
    /// NAME are directories); searched after the script's own directory (the current directory
    /// for eval, repl and a script from standard input), in the order given. Repeatable. Files are
    /// read only when required, and never outside DIR
    #[arg(short = 'L', long = "lib-dir", global = true, value_name = "DIR")]
    pub lib_dir: Vec<PathBuf>,

    /// More places for `require`, in LUA_PATH's form and searched after --lib-dir: templates
    /// separated by ';', each with a '?' for the module name, e.g. 'src/?.lua;vendor/?/init.lua'.
    /// Each is confined to the directory before its '?'
    #[arg(long = "path", global = true, value_name = "TEMPLATES")]
    pub lua_path: Option<String>,

    /// Give the script what the sandbox leaves out, for code you trust: `debug`, the whole debug
    /// library (for test frameworks and profilers). Code can then reach the unit's internals and
    /// break its own `_home` proxies, require's cache and the exactness of retried calls; the time,
    /// memory and instruction limits and the refusal of bytecode still hold. Repeatable
    #[arg(long, global = true, value_name = "WHAT")]
    pub allow: Vec<crate::common::Allowance>,

    /// The label of this run's entries in `_home`'s audit log (e.g. who runs it)
    #[arg(long, global = true, env = "CU_AUDIT_LABEL", value_name = "LABEL")]
    pub audit_label: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Lua code given on the command line and print what it returns, one value per line
    Eval {
        /// The Lua code, e.g. 'return 2 + 2'
        code: std::ffi::OsString,
    },
    /// Run a Lua script; its arguments are in the global table `arg` (arg[0] is the script)
    Run {
        /// The script file, or - for standard input
        file: String,
        /// Arguments for the script
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a script once per batch of items from --input (a JSON array): each batch is in
    /// `_io.input.batch`, and each batch's `_io.output` is printed on its own line. A progress bar
    /// shows on a terminal.
    Stream {
        /// The script file, or - for standard input
        file: String,
        /// Items per batch
        #[arg(short, long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
        batch: u32,
    },
    /// Serve a Lua HTTP app: FILE defines `function handle(request)` and returns { status, headers,
    /// body } (docs/SERVE.md). The same app runs under `wasmtime serve` with target/cu-http.wasm.
    /// Requests run in a pool of warm instances, each with --timeout and --memory-limit; `_home`
    /// is --store, which several `cu serve` processes may share (a SQLite file on one machine, a
    /// Redis server across machines). SIGTERM or Ctrl-C stops taking requests and finishes those
    /// in flight
    Serve {
        /// The app: a Lua file defining `handle(request)`; modules are found beside it
        file: PathBuf,
        /// The port to listen on (0 takes a free one, printed at start)
        #[arg(short, long, default_value_t = 8080)]
        port: u16,
        /// The address to listen on
        #[arg(long, default_value = "0.0.0.0", value_name = "ADDR")]
        host: std::net::IpAddr,
        /// Requests served at once, each in its own instance [default: the number of CPUs]
        #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        workers: Option<u32>,
        /// The largest request body; a larger one gets 413 without running Lua (0 for none)
        #[arg(long, default_value = "1M", value_name = "SIZE")]
        max_body: Size,
        /// A path the server answers itself without running Lua: 200 "ok" while it serves, 503
        /// once it is stopping (for a load balancer's health check)
        #[arg(long, default_value = "/healthz", value_name = "PATH")]
        health_path: String,
        /// No log line per request (method, path, status, time) on standard error
        #[arg(short, long)]
        quiet: bool,
    },
    /// Start an interactive session: globals persist between lines, `=expr` prints an expression,
    /// unfinished statements continue on the next line, Ctrl-C clears the input, Ctrl-D quits
    Repl,
    /// Read and change `_home` without running Lua code. PATH is like users.alice or list[2];
    /// empty for all of `_home`
    Home {
        #[command(subcommand)]
        action: HomeAction,
    },
    /// Save, restore, list and delete named copies of `_home`
    Snapshot {
        #[command(subcommand)]
        action: SnapshotAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum HomeAction {
    /// Print the value at PATH (stored functions cannot be printed: use `keys`)
    Get {
        #[arg(default_value = "")]
        path: String,
    },
    /// Store a JSON value at PATH, making missing tables on the way (null deletes)
    Set {
        path: String,
        /// The value as JSON, e.g. '{"name": "Alice"}'
        value: String,
    },
    /// Delete the value at PATH
    Delete { path: String },
    /// List the keys of the table at PATH with what each holds
    Keys {
        #[arg(default_value = "")]
        path: String,
    },
    /// Count the tables, functions, entries and bytes of `_home`
    Stats,
    /// Run a JSON array of operations from FILE (`-`: standard input) as one transaction, each
    /// {"type": "get"|"set"|"delete", "path": PATH, "value": JSON (for set)} or {"type": "query",
    /// "query": {...}}; prints one result per operation, in order: the value for get, the hits for
    /// query, nil for the others. If one fails, none is written
    Batch { file: String },
    /// Create, drop, list and check indexes on a field of every record of a table
    Index {
        #[command(subcommand)]
        action: IndexAction,
    },
    /// Print the records of TABLE that match every --where, one per line (key, then record), sorted
    /// by the first condition's field, e.g. `cu home query appUsers --where 'score >= 800' --limit 10
    /// --desc`; an index on a condition's field is used when there is one
    Query {
        /// The table, e.g. appUsers or org.users
        table: String,
        /// A condition FIELD OPERATOR VALUE: operators =, !=, <, <=, >, >=, startsWith,
        /// endsWith, contains, or `FIELD between LOW HIGH`; a VALUE that is not JSON is a string
        /// ('name startsWith Al', 'score between 400 600', 'tags.0 = "x y"')
        #[arg(short = 'w', long = "where", value_name = "CONDITION")]
        conditions: Vec<String>,
        /// The most records to print
        #[arg(short, long, default_value_t = 100)]
        limit: u64,
        /// Sort descending (by the first condition's field)
        #[arg(long)]
        desc: bool,
    },
    /// Set, print or remove the schema of the records of a table
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Turn on the audit log for some operations, or print its entries
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Store the function (or table of functions) a file's code evaluates to as TABLE.NAME (TABLE
    /// empty: `_home` itself); in the code, NAME is the function itself
    Persist {
        table: String,
        name: String,
        /// The file with the code, e.g. `function(x) return 2 * x end`, or - for standard input
        file: String,
    },
    /// Compile a file's code as an expression without running it, and say whether it compiles
    Validate {
        /// The file, or - for standard input
        file: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum IndexAction {
    /// Index FIELD (e.g. score or address.city) of every record of TABLE, from the records it
    /// holds and at every commit from now on
    Create {
        table: String,
        field: String,
        /// btree or hash: both are the same ordered index in cu
        #[arg(long, default_value = "btree", value_parser = ["btree", "hash"])]
        kind: String,
    },
    /// Drop the index on FIELD of TABLE
    Drop { table: String, field: String },
    /// List the indexes
    List,
    /// Compare every index with its table and print what disagrees (exit status 1 if anything)
    Check,
}

#[derive(Debug, Subcommand)]
pub enum SchemaAction {
    /// Set the schema of TABLE's records from JSON: {"age": {"type": "number", "min": 0, "max":
    /// 150}, "email": {"type": "string", "pattern": "^[^%s@]+@[^%s@]+$"}} (patterns are Lua
    /// patterns); fails, setting nothing, when a record breaks it
    Set {
        table: String,
        /// The schema as JSON
        schema: String,
    },
    /// Print the schema of TABLE
    Get { table: String },
    /// Remove the schema of TABLE
    Remove { table: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Record each commit of these operations from now on (replacing the list; none turns the log
    /// off): compute, set, delete, batchTableOperations, persistFunction, createIndex, dropIndex,
    /// setSchema, saveSnapshot, restoreSnapshot, deleteSnapshot
    Enable { operations: Vec<String> },
    /// Print the entries, oldest first
    Show {
        /// Only entries this recent: e.g. 10m, 2h (or ms since the Unix epoch)
        #[arg(long, value_name = "AGE|MS")]
        since: Option<String>,
        /// The most entries to print
        #[arg(long)]
        limit: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// Save a copy of `_home` as NAME (replacing one of that name)
    Save {
        #[arg(default_value = "default")]
        name: String,
    },
    /// Replace `_home` with the snapshot NAME
    Restore {
        #[arg(default_value = "default")]
        name: String,
    },
    /// List the snapshots
    List,
    /// Delete the snapshot NAME
    Delete { name: String },
}
