//! The exit statuses of `cu` and what `--allow` gives, which the cu-run component (including
//! this file) shares.

/// Exit status when Lua code failed: an error, a limit, or a value that cannot be converted.
pub const EXIT_LUA: u8 = 1;
/// Exit status for a wrong command line or an unreadable script.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the engine itself failed (the component could not be loaded).
pub const EXIT_ENGINE: u8 = 3;

/// What `--allow` can give.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Allowance {
    /// The whole `debug` library
    Debug,
}
