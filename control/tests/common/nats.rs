//! Real `nats-server` processes with JetStream on 127.0.0.1 (ephemeral ports, a scratch
//! directory each), as one server or a cluster; every one killed when dropped, also when the
//! test fails.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Proc;

/// A port free at the moment of asking (the kernel's choice, released at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whether the monitoring port says JetStream is healthy (`GET /healthz` answers 200); any
/// failure to connect or read is "not yet".
fn healthz(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200")
}

/// Whether `nats-server` is installed (`.ci/run` installs it).
pub fn available() -> bool {
    Command::new("nats-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Node {
    name: String,
    port: u16,
    monitor: u16,
    conf: PathBuf,
    proc: Option<Proc>,
}

/// A JetStream deployment of `n` servers (a cluster when `n` > 1).
pub struct NatsCluster {
    nodes: Vec<Node>,
    pub dir: PathBuf,
}

impl NatsCluster {
    /// Starts `n` servers and waits until JetStream answers on every one.
    pub fn start(tag: &str, n: usize) -> NatsCluster {
        let dir = super::scratch(&format!("nats-{tag}"));
        let ports: Vec<(u16, u16, u16)> = (0..n)
            .map(|_| (free_port(), free_port(), free_port()))
            .collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, r, _)| format!("\"nats-route://127.0.0.1:{r}\""))
            .collect();
        let mut nodes = Vec::new();
        for (i, (port, route, monitor)) in ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let store = dir.join(&name);
            std::fs::create_dir_all(&store).unwrap();
            let cluster = if n > 1 {
                format!(
                    "cluster {{\n  name: airsift-test\n  listen: 127.0.0.1:{route}\n  routes: [{}]\n}}\n",
                    routes.join(", ")
                )
            } else {
                String::new()
            };
            let conf = dir.join(format!("{name}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "server_name: {name}\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor}\n\
                     jetstream {{\n  store_dir: \"{}\"\n}}\n{cluster}",
                    store.display()
                ),
            )
            .unwrap();
            nodes.push(Node {
                name,
                port: *port,
                monitor: *monitor,
                conf,
                proc: None,
            });
        }
        let mut c = NatsCluster { nodes, dir };
        for i in 0..n {
            c.start_node(i);
        }
        c.wait_ready();
        c
    }

    /// Starts node `i` (again, after [`NatsCluster::kill`], with its stored state).
    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::File::create(self.dir.join(format!("{}.log", node.name))).unwrap();
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(&node.conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        node.proc = Some(Proc(child));
    }

    /// Kills node `i` (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].proc = None;
    }

    /// Waits until every running node reports JetStream healthy (`/healthz`).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for n in self.nodes.iter().filter(|n| n.proc.is_some()) {
            loop {
                let ok = healthz(n.monitor);
                if ok {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "nats-server {} not healthy; log: {}",
                    n.name,
                    std::fs::read_to_string(self.dir.join(format!("{}.log", n.name)))
                        .unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Client URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].port)
    }

    /// Every node's client URL, comma-separated (what `--nats` takes).
    pub fn urls(&self) -> String {
        (0..self.nodes.len())
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }
}
