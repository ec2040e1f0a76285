//! The one body type of the data plane, for requests sent upstream and responses sent back.
//!
//! An enum rather than a boxed trait object: the hot path (a streamed upstream body) costs no
//! allocation and no dynamic dispatch.

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Error type of [`Body`]: whatever broke the stream.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A request or response body: nothing, bytes in hand, or a stream from the other side.
#[derive(Debug, Default)]
pub enum Body {
    #[default]
    Empty,
    Full(Option<Bytes>),
    Incoming(Incoming),
    /// A response body read from a pooled HTTP/1.1 upstream connection.
    Upstream(crate::upstream::h1::H1Body),
    /// A request body read from a client connection served by [`crate::http1`].
    Client(crate::http1::ClientBody),
}

impl Body {
    pub fn full(b: impl Into<Bytes>) -> Body {
        let b = b.into();
        if b.is_empty() {
            Body::Empty
        } else {
            Body::Full(Some(b))
        }
    }

    /// An upstream response's header lines, when they were passed through rather than read
    /// into the response's map (`upstream::h1::RawHeaders`).
    pub fn take_raw_headers(&mut self) -> Option<Box<crate::upstream::h1::RawHeaders>> {
        match self {
            Body::Upstream(u) => u.take_raw_headers(),
            _ => None,
        }
    }

    /// The pooled HTTP/1.1 upstream body under this one, if it is one: the only kind that can
    /// be spliced (`H1Body::splice_ready`).
    pub fn upstream(&mut self) -> Option<&mut crate::upstream::h1::H1Body> {
        match self {
            Body::Upstream(u) => Some(u),
            _ => None,
        }
    }
}

impl From<Incoming> for Body {
    fn from(b: Incoming) -> Self {
        Body::Incoming(b)
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Body::Empty => Poll::Ready(None),
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Incoming(i) => Pin::new(i).poll_frame(cx).map_err(Into::into),
            Body::Upstream(u) => Pin::new(u).poll_frame(cx),
            Body::Client(c) => Pin::new(c).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Full(b) => b.is_none(),
            Body::Incoming(i) => i.is_end_stream(),
            Body::Upstream(u) => u.is_end_stream(),
            Body::Client(c) => c.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Empty => SizeHint::with_exact(0),
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Incoming(i) => i.size_hint(),
            Body::Upstream(u) => u.size_hint(),
            Body::Client(c) => c.size_hint(),
        }
    }
}
