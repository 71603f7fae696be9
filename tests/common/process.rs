//! The `callflow` binary as a process of its own, as a container platform
//! runs it: started with its settings in the environment, reached over
//! loopback, stopped with SIGTERM.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A loopback port free at the moment of asking.
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// A running `callflow serve`.
pub struct Process {
    pub child: Child,
    pub address: SocketAddr,
}

impl Process {
    /// Starts `callflow serve` on `port` with `env` (on top of HOST and
    /// PORT), its output appended to `log` or dropped, and waits until it
    /// listens.
    pub async fn serve(port: u16, env: &[(&str, &str)], log: Option<&Path>) -> Process {
        let output = || match log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap(),
            ),
            None => Stdio::null(),
        };
        let child = Command::new(env!("CARGO_BIN_EXE_callflow"))
            .arg("serve")
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .envs(env.iter().copied())
            .stdout(output())
            .stderr(output())
            .spawn()
            .expect("callflow starts");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        wait_until_listening(address).await;
        Process { child, address }
    }

    /// Sends SIGTERM, as `kubectl delete pod` or `docker stop` does.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to end, killing it after `limit`.
    pub async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return exit;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!("callflow was still running {limit:?} after it was asked to stop");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (20 s at most) until something accepts connections at `address`.
pub async fn wait_until_listening(address: SocketAddr) {
    let started = Instant::now();
    loop {
        match tokio::net::TcpStream::connect(address).await {
            Ok(_) => return,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("nothing listens at {address}: {error}"),
        }
    }
}

/// One request over a new connection; the whole answer as text.
pub async fn exchange(address: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// `GET path` over a new connection.
pub async fn get(address: SocketAddr, path: &str) -> String {
    exchange(
        address,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// A call's first webhook over a new connection, unsigned.
pub async fn first_webhook(address: SocketAddr) -> String {
    let body = "CallSid=CA1&From=%2B15551112222&To=%2B15553334444";
    exchange(
        address,
        &format!(
            "POST /voice HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

/// Where `program` is installed (on PATH, or in the sbin folders where
/// Debian puts daemons). Missing, it is a failure in CI (`CI=true`, where
/// `.ci/run` installs it as `install` says) and a skip, said out loud,
/// anywhere else.
pub fn tool(program: &str, install: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin"].map(std::path::PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} is not installed; .ci/run installs it ({install})"
        );
        eprintln!("skipped: {program} is not installed ({install}) and CI is not set");
    }
    found
}
