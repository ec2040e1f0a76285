//! Moving a response body from the upstream's socket to the client's without copying it
//! through the gateway: Linux `splice(2)` through a pipe, as HAProxy's `option splice-response`
//! does (`docs/splice.md`).
//!
//! Read and write copy every byte twice on the gateway's CPU (socket to buffer, buffer to
//! socket), and the client's reader then copies bytes that the gateway's CPU has just written.
//! A splice moves references to the kernel's pages instead: socket to pipe, pipe to socket. It
//! is used only where the bytes go on unchanged (a plain TCP client, an HTTP/1.1 upstream body
//! with a `Content-Length`) and only for the part of a body that is long enough
//! ([`SPLICE_MIN`]) to pay for the pipe's second system call.
//!
//! Every other platform copies: [`Pipe::take`] gives no pipe there.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpStream;

/// Bytes this process has spliced to clients: for tests and diagnostics.
static SPLICED: AtomicU64 = AtomicU64::new(0);

/// Bytes this process has spliced to clients so far.
pub fn spliced_bytes() -> u64 {
    SPLICED.load(Ordering::Relaxed)
}

/// A body with at least this much still to come (after the bytes read with its head) is
/// spliced; a shorter one is copied. Below it, read + write (two system calls) beat two splices
/// plus their share of the pipe's upkeep.
pub const SPLICE_MIN: u64 = 16 * 1024;

/// An empty pipe of this thread's pool, holding bytes between the two splices of a body.
pub struct Pipe {
    #[cfg(target_os = "linux")]
    read: std::os::fd::OwnedFd,
    #[cfg(target_os = "linux")]
    write: std::os::fd::OwnedFd,
    /// The pipe's capacity: one fill never asks for more, so a fill that cannot move anything
    /// means the socket has nothing, never that the pipe is full.
    cap: usize,
    /// Bytes in the pipe, not yet moved to the client.
    held: usize,
}

/// Idle pipes kept per worker thread. Each costs two file descriptors.
#[cfg(target_os = "linux")]
const POOL_MAX: usize = 64;

#[cfg(target_os = "linux")]
thread_local! {
    static PIPES: std::cell::RefCell<Vec<Pipe>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(target_os = "linux")]
impl Pipe {
    /// An empty pipe: one of this thread's, or a new one. None when none can be made (out of
    /// file descriptors, say): the caller copies instead.
    pub fn take() -> Option<Pipe> {
        if let Some(p) = PIPES
            .try_with(|p| p.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten()
        {
            return Some(p);
        }
        use rustix::pipe::{fcntl_getpipe_size, pipe_with, PipeFlags};
        let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).ok()?;
        let cap = fcntl_getpipe_size(&read).ok()?;
        Some(Pipe {
            read,
            write,
            cap,
            held: 0,
        })
    }

    /// Returns the pipe to this thread's pool. One still holding bytes (its body broke off) is
    /// closed: they belong to no one.
    pub fn give_back(self) {
        if self.held == 0 {
            let _ = PIPES.try_with(move |p| {
                if let Ok(mut p) = p.try_borrow_mut() {
                    if p.len() < POOL_MAX {
                        p.push(self);
                    }
                }
            });
        }
    }

    /// Moves up to `len` bytes waiting in `from` into the pipe, which must be empty. `Ok(0)`: the
    /// peer closed its side. `WouldBlock` (readiness cleared): nothing to move yet.
    pub fn fill(&mut self, from: &TcpStream, len: u64) -> io::Result<usize> {
        debug_assert_eq!(self.held, 0);
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(self.cap);
        let n = from.try_io(tokio::io::Interest::READABLE, || {
            splice(from, &self.write, len)
        })?;
        self.held = n;
        Ok(n)
    }

    /// Moves what the pipe holds into `to`, as much as its send buffer takes. `WouldBlock`
    /// (readiness cleared): the send buffer is full.
    pub fn drain(&mut self, to: &TcpStream) -> io::Result<usize> {
        let n = to.try_io(tokio::io::Interest::WRITABLE, || {
            splice(&self.read, to, self.held)
        })?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.held -= n;
        SPLICED.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    /// Bytes in the pipe, not yet moved to the client.
    pub fn held(&self) -> usize {
        self.held
    }
}

#[cfg(target_os = "linux")]
fn splice(
    from: impl std::os::fd::AsFd,
    to: impl std::os::fd::AsFd,
    len: usize,
) -> io::Result<usize> {
    use rustix::pipe::SpliceFlags;
    // MOVE: pages are moved, not copied, where the kernel can. NONBLOCK: the pipe never blocks
    // (the sockets are non-blocking already).
    rustix::pipe::splice(
        from,
        None,
        to,
        None,
        len,
        SpliceFlags::MOVE | SpliceFlags::NONBLOCK,
    )
    .map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
impl Pipe {
    pub fn take() -> Option<Pipe> {
        None
    }
    pub fn give_back(self) {}
    pub fn fill(&mut self, _from: &TcpStream, _len: u64) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
    pub fn drain(&mut self, _to: &TcpStream) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
    pub fn held(&self) -> usize {
        self.held
    }
}
