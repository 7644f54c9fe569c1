//! The real binary as a child process.

use super::*;

/// One `ent-identity serve` process (the real binary), for what is
/// process-wide (telemetry) or spans processes (replicas sharing a
/// database). Killed when dropped.
pub struct Process {
    child: std::process::Child,
    pub address: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `ent-identity serve` on a free port with the example
    /// institutions, the test clients and `env`; returns once it is
    /// SERVING.
    pub async fn serve(dir: &std::path::Path, env: &[(String, String)]) -> Process {
        let port = super::free_port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ent-identity"));
        for file in institution_files() {
            command.arg("--config").arg(file);
        }
        command
            .arg("--config")
            .arg(write_clients(dir))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ENT_IDENTITY__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("ENT_IDENTITY__MAIL__FOLDER", dir.join("mail"))
            .env("ENT_IDENTITY__SMS__FOLDER", dir.join("sms"))
            .envs([secret_key_env(dir)])
            .env("ENT_IDENTITY__LOG__FILTER", "warn")
            .envs(env.iter().cloned());
        let child = command.spawn().expect("start ent-identity serve");
        let process = Process {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if let Ok(channel) = Channel::from_shared(process.address.clone())
                .expect("endpoint")
                .connect()
                .await
            {
                wait_until_serving(channel).await;
                return process;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("ent-identity serve did not start");
    }

    /// A channel to it (connects on first use).
    pub fn channel(&self) -> Channel {
        Channel::from_shared(self.address.clone())
            .expect("endpoint")
            .connect_lazy()
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn terminate(mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: signals our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM");
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "exit status {status}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("ent-identity serve did not stop on SIGTERM");
    }
}
