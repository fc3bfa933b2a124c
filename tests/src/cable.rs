//! A cable a test can cut: a TCP relay on `127.0.0.1:0` to one target address. While it is
//! up, every connection is relayed byte for byte (TLS passes through untouched, so clients
//! keep the target's name, `localhost`); [`Cable::cut`] drops every open connection and
//! every new one at once (the client sees the peer hang up, as when a service is down), and
//! [`Cable::restore`] lets connections through again. The listener stays bound throughout,
//! so the address never changes.
//!
//! It never looks into or changes what it relays, and never sleeps: it reacts to the cut
//! through a watch channel.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A running relay; dropping it closes the listener and every relayed connection.
#[derive(Debug)]
pub struct Cable {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    dropped: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl Cable {
    /// Binds `127.0.0.1:0` and relays every connection to `target`, starting up.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the cable's listener");
        let addr = listener.local_addr().expect("the cable's address");
        let (up, _) = watch::channel(true);
        let dropped = Arc::new(AtomicU64::new(0));
        let stop = CancellationToken::new();
        tokio::spawn(accept(
            listener,
            target,
            up.clone(),
            dropped.clone(),
            stop.clone(),
        ));
        Self {
            addr,
            up,
            dropped,
            stop,
        }
    }

    /// Returns the address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the URL a MynaFleet client uses through the cable (`https://localhost:<port>`,
    /// the name on every development certificate).
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// Cuts the cable: open connections are dropped, new ones are accepted and dropped.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// Lets new connections through again.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }

    /// Returns whether the cable is up.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Returns how many connections were dropped because the cable was cut (open ones at
    /// the cut and new ones while it stayed cut).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    up: watch::Sender<bool>,
    dropped: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    loop {
        let inbound = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                // A connection that failed before it was accepted concerns only its client.
                Err(_) => continue,
            },
        };
        if !*up.borrow() {
            dropped.fetch_add(1, Ordering::Relaxed);
            drop(inbound);
            continue;
        }
        tokio::spawn(relay(
            inbound,
            target,
            up.subscribe(),
            dropped.clone(),
            stop.clone(),
        ));
    }
}

async fn relay(
    mut inbound: TcpStream,
    target: SocketAddr,
    mut up: watch::Receiver<bool>,
    dropped: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    let cut = async {
        // An error means the cable itself is gone: treat it as cut.
        let _ = up.wait_for(|is_up| !is_up).await;
    };
    let carry = async {
        let Ok(mut outbound) = TcpStream::connect(target).await else {
            return;
        };
        let _ = inbound.set_nodelay(true);
        let _ = outbound.set_nodelay(true);
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    };
    tokio::select! {
        () = cut => {
            dropped.fetch_add(1, Ordering::Relaxed);
        }
        () = carry => {}
        () = stop.cancelled() => {}
    }
}

#[cfg(test)]
mod tests;
