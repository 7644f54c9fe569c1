//! Stand-ins for what the service talks to: an SMTP server, an SMS
//! provider's webhook.

use super::*;

/// Mail received by [`smtp_sink`]: (recipients, message).
pub type Inbox = Arc<std::sync::Mutex<Vec<(Vec<String>, String)>>>;

/// An SMTP server on an ephemeral port that accepts every message (EHLO,
/// MAIL, RCPT, DATA, RSET, NOOP, QUIT over real TCP), so the service's SMTP
/// transport is exercised end to end. Returns its port and its inbox.
pub async fn smtp_sink() -> (u16, Inbox) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("smtp port");
    let port = listener.local_addr().expect("address").port();
    let inbox: Inbox = Arc::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let inbox = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 smtp.test ESMTP\r\n").await;
                let mut to = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-smtp.test\r\n250 8BITMIME\r\n",
                        "HELO" | "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "RCPT" => {
                            let address =
                                line.split(['<', '>']).nth(1).unwrap_or_default().to_owned();
                            to.push(address);
                            b"250 OK\r\n"
                        }
                        "DATA" => {
                            let _ = write.write_all(b"354 go on\r\n").await;
                            let mut message = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                message.push_str(line.strip_prefix('.').unwrap_or(&line));
                                message.push_str("\r\n");
                            }
                            inbox
                                .lock()
                                .expect("inbox")
                                .push((std::mem::take(&mut to), message));
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"502 unknown command\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, inbox)
}

/// Requests received by [`http_sink`]: (head, body).
pub type Requests = Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// An HTTP/1.1 server on an ephemeral port answering 200 to every request,
/// keeping each one (a stand-in for an SMS provider's webhook).
pub async fn http_sink() -> (u16, Requests) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("http port");
    let port = listener.local_addr().expect("address").port();
    let requests: Requests = Arc::default();
    let kept = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let requests = kept.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() < length {
                        continue;
                    }
                    requests
                        .lock()
                        .expect("requests")
                        .push((head.to_owned(), body.to_owned()));
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    buf.clear();
                }
            });
        }
    });
    (port, requests)
}
