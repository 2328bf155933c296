//! An incremental Server-Sent Events parser: bytes in, events out, with no I/O.
//!
//! It follows the WHATWG "event stream interpretation" rules: lines end with CRLF, LF or CR;
//! a blank line dispatches the event; `:` starts a comment (keep-alive); `data:` lines are
//! joined with `\n`; `event:` names the event; `id:` sets the last event id; a single space after
//! the colon is dropped; a leading byte-order mark is ignored. Lines are cut on bytes and only
//! then decoded as UTF-8, so a chunk boundary inside a multi-byte character or between the CR
//! and LF of a CRLF changes nothing.
//!
//! One deliberate leniency: at end of input, a last line without its newline is still read and
//! a pending event is still dispatched, so that a server which forgets the final blank line
//! (or a stream cut mid-event) is seen, and the decoder can report it.

/// Default longest line accepted (bytes): far above any real chunk, low enough that a broken
/// server cannot grow the buffer without bound.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name; `None` for the default (`message`).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last `id:` seen so far in the stream, if any.
    pub id: Option<String>,
}

/// The parser refused the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line grew past the limit without a line break.
    #[error("a stream line exceeded {limit} bytes without a line break")]
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
}

/// Incremental parser state. Feed it with [`SseParser::push`], end with [`SseParser::finish`].
#[derive(Debug, Clone)]
pub struct SseParser {
    line: Vec<u8>,
    after_cr: bool,
    first_line: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
    last_id: Option<String>,
    comments: u64,
    max_line: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser with the default line limit.
    pub fn new() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE_BYTES)
    }

    /// A parser refusing lines longer than `max_line` bytes.
    pub fn with_max_line(max_line: usize) -> Self {
        Self {
            line: Vec::new(),
            after_cr: false,
            first_line: true,
            data: String::new(),
            has_data: false,
            event: None,
            last_id: None,
            comments: 0,
            max_line,
        }
    }

    /// Feeds the next chunk, returning the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if rest.first() == Some(&b'\n') {
                    rest = &rest[1..];
                    continue;
                }
            }
            match rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
                Some(i) => {
                    self.extend_line(&rest[..i])?;
                    self.after_cr = rest[i] == b'\r';
                    self.end_line(&mut out);
                    rest = &rest[i + 1..];
                }
                None => {
                    self.extend_line(rest)?;
                    rest = &[];
                }
            }
        }
        Ok(out)
    }

    /// Ends the input: reads an unterminated last line and dispatches a pending event.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut out);
        }
        self.dispatch(&mut out);
        self.after_cr = false;
        out
    }

    /// How many comment lines (`: keep-alive`, `: OPENROUTER PROCESSING`, …) were skipped.
    pub fn comments_seen(&self) -> u64 {
        self.comments
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > self.max_line {
            return Err(SseError::LineTooLong { limit: self.max_line });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let mut bytes = std::mem::take(&mut self.line);
        if self.first_line {
            self.first_line = false;
            if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
                bytes.drain(..3);
            }
        }
        if bytes.is_empty() {
            self.dispatch(out);
            return;
        }
        let line = String::from_utf8_lossy(&bytes);
        if line.starts_with(':') {
            self.comments += 1;
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            _ => {} // `retry` and unknown fields are ignored.
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = self.event.take().filter(|e| !e.is_empty());
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(SseEvent { event, data: std::mem::take(&mut self.data), id: self.last_id.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.push(c).expect("within limits"));
        }
        out.extend(p.finish());
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent { event: event.map(str::to_string), data: data.to_string(), id: None }
    }

    #[test]
    fn fields_comments_and_multiline() {
        let s = b"\xEF\xBB\xBF: hello\r\n\r\nevent: ping\ndata: {}\n\ndata:first\ndata: second\nretry: 10\nunknown\n\n\
                  data\n\nevent: lonely\n\nid: 7\ndata:  two spaces\r\r";
        assert_eq!(
            parse_all(&[s]),
            vec![
                ev(Some("ping"), "{}"),
                ev(None, "first\nsecond"),
                ev(None, ""),
                SseEvent { event: None, data: " two spaces".into(), id: Some("7".into()) },
            ]
        );
        let mut p = SseParser::new();
        p.push(b": keep-alive\n\n: OPENROUTER PROCESSING\n\n").expect("ok");
        assert_eq!(p.comments_seen(), 2);
        assert!(p.finish().is_empty());
    }

    #[test]
    fn crlf_split_between_chunks_is_one_line_end() {
        let a = parse_all(&[b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]);
        assert_eq!(a, vec![ev(None, "a"), ev(None, "b")]);
    }

    #[test]
    fn utf8_split_inside_a_character() {
        let text = "data: héllo 🌍 世界\n\n".as_bytes();
        for i in 0..text.len() {
            assert_eq!(parse_all(&[&text[..i], &text[i..]]), vec![ev(None, "héllo 🌍 世界")], "split at {i}");
        }
    }

    #[test]
    fn unterminated_tail_is_dispatched_at_finish() {
        assert_eq!(parse_all(&[b"data: [DONE]"]), vec![ev(None, "[DONE]")]);
        assert_eq!(parse_all(&[b"data: {\"a\":1}\n"]), vec![ev(None, "{\"a\":1}")]);
    }

    #[test]
    fn long_lines_are_refused() {
        let mut p = SseParser::with_max_line(8);
        assert!(p.push(b"data: 12").is_ok());
        assert_eq!(p.push(b"3"), Err(SseError::LineTooLong { limit: 8 }));
        let mut p = SseParser::with_max_line(8);
        assert!(p.push(b"data: 1\ndata: 2\n\n").is_ok());
    }

    fn arb_line() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z{}\":, éü🌍世]{0,12}".prop_map(|s| format!("data: {s}")),
            "[a-z{}\":, é🌍]{0,8}".prop_map(|s| format!("data:{s}")),
            "[a-z_]{0,8}".prop_map(|s| format!("event: {s}")),
            "[a-z ]{0,8}".prop_map(|s| format!(": {s}")),
            "[0-9]{1,3}".prop_map(|s| format!("id: {s}")),
            Just(String::new()),
            Just("data: [DONE]".to_string()),
        ]
    }

    fn arb_stream() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec((arb_line(), prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]), 0..24).prop_map(
            |lines| {
                let mut s = String::new();
                for (l, end) in lines {
                    s.push_str(&l);
                    s.push_str(end);
                }
                s.into_bytes()
            },
        )
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_events(stream in arb_stream(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)) {
            let whole = parse_all(&[&stream]);
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut start = 0;
            for p in points {
                chunks.push(&stream[start..p]);
                start = p;
            }
            chunks.push(&stream[start..]);
            prop_assert_eq!(parse_all(&chunks), whole.clone());
            // One byte at a time is the harshest chunking.
            let bytes: Vec<&[u8]> = stream.chunks(1).collect();
            prop_assert_eq!(parse_all(&bytes), whole);
        }
    }
}
