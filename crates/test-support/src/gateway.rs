//! The nginx gateway for tests: rendered from `deploy/gateway/nginx.conf.template` in front of services
//! the test started, on a free port, stopped on `Drop`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// A running gateway.
#[derive(Debug)]
pub struct TestGateway {
    pub port: u16,
    pub dir: PathBuf,
    nginx: Child,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn addresses(ports: &[u16]) -> String {
    ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl TestGateway {
    /// Starts nginx in front of the given service ports; `write_rate` is nginx's `limit_req` rate for
    /// writes (e.g. `"5r/s"`), with a burst of `write_burst`.
    pub fn start(action: &[u16], score: &[u16], notifier: &[u16], write_rate: &str, write_burst: u32) -> Self {
        let root = repo_root();
        let dir = std::env::temp_dir().join(format!("scoreboard-gateway-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("gateway dir");
        let port = free_port();
        let config = dir.join("nginx.conf");
        let status = Command::new(root.join("scripts/render-gateway.sh"))
            .arg(&config)
            .arg(format!("127.0.0.1:{port}"))
            .arg(root.join("web"))
            .arg(dir.join("runtime"))
            .arg(addresses(action))
            .arg(addresses(score))
            .arg(addresses(notifier))
            .env("WRITE_RATE", write_rate)
            .env("WRITE_BURST", write_burst.to_string())
            .status()
            .expect("render the gateway config");
        assert!(status.success(), "render-gateway.sh failed");
        let nginx = if Path::new("/usr/sbin/nginx").exists() {
            "/usr/sbin/nginx"
        } else {
            "nginx"
        };
        let child = Command::new(nginx)
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(dir.join("runtime/error.log"))
            .args(["-g", "daemon off; user root root;"])
            .spawn()
            .expect("nginx must be installed (make test installs it)");
        let gateway = Self {
            port,
            dir,
            nginx: child,
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return gateway;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("nginx did not start; see {}", gateway.dir.display());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The gateway's access log so far.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("runtime/access.log")).unwrap_or_default()
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers too (SIGKILL would orphan them).
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.nginx.id().to_string())
            .status();
        for _ in 0..100 {
            if matches!(self.nginx.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.nginx.kill();
        let _ = self.nginx.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
