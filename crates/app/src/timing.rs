//! Answers that must not tell, by their timing, whether an account exists
//! (password-reset and activation-link requests). Their writes happen after
//! the answer, and the answer itself leaves at a fixed time after the
//! request arrived: what remains (an index lookup that hits or misses, the
//! scheduler) is well under that time, so known and unknown identifiers
//! are answered alike (issue 19, finding 7).

use std::time::Duration;

/// When such an answer leaves, after the request arrived. Long enough to
/// cover the lookup on a busy server; short enough that nobody waits.
pub const ANSWER_AFTER: Duration = Duration::from_millis(40);

/// The instant a request arrived, for [`AnswerTime::wait`].
pub struct AnswerTime(tokio::time::Instant);

impl AnswerTime {
    pub fn start() -> AnswerTime {
        AnswerTime(tokio::time::Instant::now() + ANSWER_AFTER)
    }

    /// Waits until the answer may leave.
    pub async fn wait(self) {
        tokio::time::sleep_until(self.0).await;
    }
}
