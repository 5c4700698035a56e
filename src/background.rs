//! Tasks that run beside the server for as long as it runs (the housekeeping sweep, the event
//! listener, the live-book dispatcher): each is stopped when its handle is dropped, so a server
//! that returns, whichever way, leaves nothing running behind it.

/// A running background task; dropping it stops the task.
pub struct Background(tokio::task::JoinHandle<()>);

impl Background {
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(tokio::spawn(task))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}
