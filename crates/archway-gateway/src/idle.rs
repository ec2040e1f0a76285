//! An I/O wrapper that ends a connection on which no byte has moved either way for the idle
//! timeout, so a slow or silent client cannot hold a connection (and its memory) forever.
//! hyper's `header_read_timeout` covers a slow request head; this covers everything else,
//! HTTP/2 included.

use hyper::rt::{Read, ReadBufCursor, Write};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

pub struct IdleIo<T> {
    inner: T,
    /// Half the idle timeout: how often the connection is looked at.
    tick: Duration,
    /// Bytes moved since the last tick. A flag, not a timestamp, so that I/O never reads the
    /// clock.
    active: bool,
    idle_ticks: u8,
    deadline: Pin<Box<Sleep>>,
}

impl<T> IdleIo<T> {
    pub fn new(inner: T, timeout: Duration) -> IdleIo<T> {
        let tick = (timeout / 2).max(Duration::from_millis(1));
        IdleIo {
            inner,
            tick,
            active: false,
            idle_ticks: 0,
            deadline: Box::pin(tokio::time::sleep(tick)),
        }
    }

    /// Err once two ticks in a row saw no bytes: the connection then closes between one and
    /// one and a half idle timeouts after its last byte. Otherwise keeps the timer armed.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        while self.deadline.as_mut().poll(cx).is_ready() {
            if std::mem::take(&mut self.active) {
                self.idle_ticks = 0;
            } else {
                self.idle_ticks += 1;
                if self.idle_ticks >= 2 {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle"));
                }
            }
            let next = Instant::now() + self.tick;
            self.deadline.as_mut().reset(next);
        }
        Ok(())
    }
}

impl<T: Read + Unpin> Read for IdleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        match r {
            Poll::Ready(Ok(())) => {
                this.active = true;
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match this.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            other => other,
        }
    }
}

impl<T: Write + Unpin> Write for IdleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        match r {
            Poll::Ready(Ok(n)) => {
                this.active = true;
                Poll::Ready(Ok(n))
            }
            Poll::Pending => match this.check(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
            other => other,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(_)) = r {
            this.active = true;
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
