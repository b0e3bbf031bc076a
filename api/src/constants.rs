//! The JSON layer's bounds, sizes and defaults in one place, with the compile-time checks
//! that tie them together beside them. The action fields' lengths are the core's
//! ([`incident_core::constants::FIELD_CHARS_MAX`], [`incident_core::constants::REASONING_CHARS_MAX`]);
//! the host's transport bounds are `incident_host::constants`.

/// Deepest nesting of arrays and objects a JSON body may have, the outermost counted:
/// serde_json's recursion limit (it refuses the 128th level), which every transport's
/// parse inherits; one level deeper is a decode error (`json_invalid` over HTTP).
pub const JSON_NESTING_MAX: usize = 127;

/// Longest `episode_id` accepted (OpenEnv's limit), in characters.
pub const EPISODE_ID_CHARS_MAX: usize = 255;

/// Most entries of one MCP batch that are run; the rest get one error together.
pub const BATCH_ENTRIES_MAX: usize = 128;

/// MCP reply bytes after which no further batch entry is started (a reply may exceed it
/// by its last answer, a few KiB; over WebSocket it then still fits one 1 MiB frame).
pub const REPLY_BYTES_MAX: usize = 512 * 1024;

/// Typical size of a step response (1.7 to 2.5 KB); one allocation holds it.
pub const RESPONSE_BYTES_HINT: usize = 4096;

/// The server's default port, which `/manifest` states (the original's).
pub const PORT_DEFAULT: u16 = 8000;

const _: () = {
    assert!(JSON_NESTING_MAX < 128, "serde_json refuses the 128th level");
    assert!(
        REPLY_BYTES_MAX < 1 << 20,
        "a bounded MCP reply plus its last answer fits one 1 MiB WebSocket frame"
    );
};
