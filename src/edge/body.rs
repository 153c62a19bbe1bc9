//! The body of every edge response: bytes already in memory (a cached
//! copy, a small answer) or a stream passed through chunk by chunk (an
//! object larger than `edge.max_object_mb`, an uncacheable answer), so
//! memory never grows with the size of what is served.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::{BoxStream, Stream};
use hyper::body::{Frame, SizeHint};

pub type Chunks = BoxStream<'static, io::Result<Bytes>>;

pub enum Body {
    /// In memory; `None` once sent.
    Full(Option<Bytes>),
    /// Streamed; `len` is the declared length when known (sent as
    /// Content-Length, and a stream that ends short fails the connection
    /// instead of looking complete).
    Stream { len: Option<u64>, chunks: Chunks },
}

impl Body {
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        Body::Full((!bytes.is_empty()).then_some(bytes))
    }

    pub fn stream(len: Option<u64>, chunks: Chunks) -> Body {
        Body::Stream { len, chunks }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::Full(None)
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream { chunks, .. } => Pin::new(chunks)
                .poll_next(cx)
                .map(|next| next.map(|chunk| chunk.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream { len: Some(len), .. } => SizeHint::with_exact(*len),
            Body::Stream { len: None, .. } => SizeHint::default(),
        }
    }
}
