//! Newline-delimited JSON-RPC over a byte stream (the stdio transport), answering every
//! malformed frame (the answers: [`super::malformed`]).
//!
//! rmcp's own stdio transport drops unparsable lines silently and answers well-formed JSON it
//! cannot read as a message with an error that carries no `id`, so a client waiting on that id
//! waits forever (found by `tests/fuzz_props.rs`). This transport reads the lines itself: a
//! message rmcp can read goes to the handler; anything else gets exactly one JSON-RPC error that
//! echoes the request's id when it has a usable one (`null` otherwise), and the session goes on.
//! Malformed notifications and responses get no answer (JSON-RPC never answers those).

use super::malformed::{Outcome, classify, too_long};
use bytes::{Buf, BytesMut};
use futures::StreamExt;
use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::Transport;
use std::io;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::{Decoder, FramedRead};

/// Longest line accepted (as rmcp's stdio transport); longer ones are dropped with an error.
pub const MAX_LINE_BYTES: usize = 16 << 20;
/// Outgoing messages queued for the writer task.
const QUEUE: usize = 64;
/// One input line, or the news that a line was too long.
#[derive(Debug, PartialEq)]
enum Frame {
    Line(BytesMut),
    TooLong,
}

/// Splits input on `\n`, never buffering more than [`MAX_LINE_BYTES`] of one line.
#[derive(Debug, Default)]
struct LineCodec {
    /// Bytes already searched for a newline.
    scanned: usize,
    /// Dropping the rest of an oversized line.
    discarding: bool,
    max: usize,
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, io::Error> {
        if let Some(i) = buf[self.scanned..].iter().position(|b| *b == b'\n') {
            let end = self.scanned + i;
            self.scanned = 0;
            if self.discarding || end > self.max {
                buf.advance(end + 1);
                self.discarding = false;
                return Ok(Some(Frame::TooLong));
            }
            let mut line = buf.split_to(end + 1);
            line.truncate(end);
            return Ok(Some(Frame::Line(line)));
        }
        if self.discarding || buf.len() > self.max {
            self.discarding = true;
            buf.clear();
            self.scanned = 0;
        } else {
            self.scanned = buf.len();
        }
        Ok(None)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, io::Error> {
        let frame = self.decode(buf)?;
        if frame.is_none() {
            // An unterminated last line is an incomplete message: nothing to deliver.
            buf.clear();
            self.scanned = 0;
        }
        Ok(frame)
    }
}

fn encode<T: serde::Serialize>(item: &T) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(item).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes queued lines, flushing whenever the queue runs empty. `_done` is dropped when this
/// ends, which is what [`Signals::output_finished`] waits for.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut out: W,
    mut rx: mpsc::Receiver<Vec<u8>>,
    _done: watch::Sender<()>,
) -> io::Result<()> {
    while let Some(bytes) = rx.recv().await {
        out.write_all(&bytes).await?;
        if rx.is_empty() {
            out.flush().await?;
        }
    }
    out.flush().await
}

/// What the stdio server watches besides the session: when input ended, when output is written.
#[derive(Clone, Debug)]
pub struct Signals {
    input_closed: watch::Receiver<bool>,
    output_done: watch::Receiver<()>,
}

impl Signals {
    /// Resolves once the input reached EOF (or failed), or the transport is gone.
    pub async fn input_closed(&self) {
        let mut rx = self.input_closed.clone();
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Resolves once the writer task has written everything queued and ended (the transport was
    /// closed or dropped), or after `bound`; true when it ended.
    pub async fn output_finished(&self, bound: std::time::Duration) -> bool {
        let mut rx = self.output_done.clone();
        let ended = async move { while rx.changed().await.is_ok() {} };
        tokio::time::timeout(bound, ended).await.is_ok()
    }
}

/// The server side of newline-delimited JSON-RPC over `R` (input) and a writer task (output).
pub struct LineTransport<R> {
    frames: FramedRead<R, LineCodec>,
    out: Option<mpsc::Sender<Vec<u8>>>,
    /// An error answer waiting for room in the output queue.
    pending: Option<Vec<u8>>,
    writer: Option<JoinHandle<io::Result<()>>>,
    /// Set when the input ends.
    input_closed: watch::Sender<bool>,
    signals: Signals,
}

impl<R: AsyncRead + Unpin + Send + 'static> LineTransport<R> {
    /// Reads from `read` and writes to `write` (a task owns the writer; one line per message).
    pub fn new<W: AsyncWrite + Unpin + Send + 'static>(read: R, write: W) -> Self {
        Self::with_max_line(read, write, MAX_LINE_BYTES)
    }

    fn with_max_line<W: AsyncWrite + Unpin + Send + 'static>(
        read: R,
        write: W,
        max: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let codec = LineCodec {
            max,
            ..LineCodec::default()
        };
        let (input_closed, input_rx) = watch::channel(false);
        let (done_tx, output_done) = watch::channel(());
        Self {
            frames: FramedRead::new(read, codec),
            out: Some(tx),
            pending: None,
            writer: Some(tokio::spawn(write_lines(write, rx, done_tx))),
            input_closed,
            signals: Signals {
                input_closed: input_rx,
                output_done,
            },
        }
    }

    /// Watches on this transport's input and output that outlive it (see [`Signals`]).
    pub fn signals(&self) -> Signals {
        self.signals.clone()
    }

    /// The next frame; `None` at EOF or on a read error, which is also signalled.
    async fn next_frame(&mut self) -> Option<Frame> {
        let frame = match self.frames.next().await {
            Some(Ok(frame)) => Some(frame),
            Some(Err(e)) => {
                tracing::error!(error = %e, "reading stdin failed");
                None
            }
            None => None,
        };
        if frame.is_none() {
            self.input_closed.send_replace(true);
        }
        frame
    }
}

impl<R: AsyncRead + Unpin + Send + 'static> Transport<RoleServer> for LineTransport<R> {
    type Error = io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), io::Error>> + Send + 'static {
        let out = self.out.clone();
        let bytes = encode(&item);
        async move {
            let bytes = bytes?;
            let out = out.ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "closed"))?;
            out.send(bytes)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "output closed"))
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        loop {
            if self.pending.is_some() {
                // Cancel-safe: the answer stays pending until a slot is reserved.
                let permit = self.out.as_ref()?.reserve().await.ok()?;
                if let Some(bytes) = self.pending.take() {
                    permit.send(bytes);
                }
            }
            let frame = self.next_frame().await?;
            let outcome = match frame {
                Frame::Line(line) => classify(&line),
                Frame::TooLong => Outcome::Answer(too_long(MAX_LINE_BYTES)),
            };
            match outcome {
                Outcome::Message(msg) => return Some(*msg),
                Outcome::Skip => {}
                Outcome::Answer(answer) => {
                    tracing::debug!(%answer, "answering a malformed frame");
                    self.pending = encode(&answer).ok();
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), io::Error> {
        drop(self.out.take());
        if let Some(writer) = self.writer.take() {
            match tokio::time::timeout(std::time::Duration::from_secs(5), writer).await {
                Ok(Ok(result)) => result?,
                Ok(Err(e)) => return Err(io::Error::other(e)),
                Err(_) => tracing::warn!("output not drained within 5 s"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::malformed::{INVALID_REQUEST, PARSE_ERROR};
    use serde_json::Value;
    use tokio::io::{AsyncBufReadExt, BufReader};

    #[test]
    fn long_lines_are_dropped_once_and_reading_goes_on() {
        let mut codec = LineCodec {
            max: 8,
            ..LineCodec::default()
        };
        let mut buf = BytesMut::from(&b"0123456789abc"[..]);
        assert_eq!(codec.decode(&mut buf).expect("decode"), None);
        buf.extend_from_slice(b"def\nok\n");
        assert_eq!(
            codec.decode(&mut buf).expect("decode"),
            Some(Frame::TooLong)
        );
        assert_eq!(
            codec.decode(&mut buf).expect("decode"),
            Some(Frame::Line(BytesMut::from(&b"ok"[..])))
        );
    }

    #[tokio::test]
    async fn answers_are_written_before_the_next_message_is_returned() {
        let (mut input, server_read) = tokio::io::duplex(1 << 16);
        let (server_write, output) = tokio::io::duplex(1 << 16);
        let mut transport = LineTransport::with_max_line(server_read, server_write, 64);
        let lines = format!(
            "garbage\n{}\n{{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}}\n",
            "x".repeat(100)
        );
        input.write_all(lines.as_bytes()).await.expect("write");
        drop(input);
        let bound = std::time::Duration::from_secs(10);
        let msg = tokio::time::timeout(bound, transport.receive())
            .await
            .expect("in time")
            .expect("a message");
        assert!(matches!(msg, ClientJsonRpcMessage::Request(_)));
        let end = tokio::time::timeout(bound, transport.receive())
            .await
            .expect("in time");
        assert!(end.is_none(), "EOF ends the session");
        transport.close().await.expect("close");
        let mut lines = BufReader::new(output).lines();
        let mut next = async || -> Value {
            let line = tokio::time::timeout(bound, lines.next_line())
                .await
                .expect("in time")
                .expect("read")
                .expect("a line");
            serde_json::from_str(&line).expect("json")
        };
        assert_eq!(next().await["error"]["code"], PARSE_ERROR);
        assert_eq!(next().await["error"]["code"], INVALID_REQUEST);
    }
}
