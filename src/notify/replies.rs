//! Incidents acknowledged by replying to the alert where the technicians are: in a Telegram
//! group, a reply to the appliance's message that starts with "ok", "siap", "ditangani",
//! "diterima" or "/ack" acknowledges that incident in the appliance's history, in the replier's
//! name, as the dashboard's button does; the bot answers in the thread so the group sees who
//! took it. The Bot API lets a bot read replies to its own messages even in privacy mode
//! (`getUpdates`, long polling, no public address needed). WhatsApp gateways and e-mail give
//! the appliance no such way: there the dashboard is the way.
//!
//! Only replies in the notifier's own chats, to messages the queue recorded as sent to that
//! chat, count; the offset of the next update is kept in the queue, so a restart neither
//! replays replies nor skips them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::incident::Incident;
use super::queue::Queue;
use super::send::Bot;

/// Acknowledge `incident` for `by` ("Budi (@budi) lewat Telegram"); how many entries of the
/// incident history this newly acknowledged.
pub type Ack = Arc<dyn Fn(&Incident, &str) -> Result<usize, String> + Send + Sync>;

/// Seconds the Bot API holds a `getUpdates` open when there is nothing new.
const LONG_POLL_S: u64 = 20;

/// True when a reply's first word says the incident is taken: Indonesian and English, any
/// case, a bot command (`/ack@juknis_bot`) too.
pub fn is_ack(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or("").to_lowercase();
    let first = first.split('@').next().unwrap_or("");
    let word = first.trim_end_matches(|c: char| !c.is_alphanumeric());
    matches!(
        word,
        "ok" | "oke"
            | "okay"
            | "siap"
            | "ack"
            | "/ack"
            | "ditangani"
            | "diterima"
            | "ditindaklanjuti"
            | "handled"
            | "acknowledged"
    )
}

/// A reply to one of the bot's messages, in one of its chats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub chat: String,
    /// The reply's own message id (the bot answers in its thread).
    pub message_id: i64,
    /// The id of the bot's message it answers.
    pub reply_to: String,
    /// Who: "Budi Santoso (@budi_tek)".
    pub by: String,
    pub text: String,
}

/// The replies in a `getUpdates` answer that are in `chats`, and the offset that confirms
/// every update of it (`None` when it held none).
pub fn read_updates(answer: &Value, chats: &[String]) -> (Vec<Reply>, Option<i64>) {
    let mut next = None;
    let mut out = Vec::new();
    for u in answer["result"].as_array().into_iter().flatten() {
        let Some(id) = u["update_id"].as_i64() else {
            continue;
        };
        next = Some(next.map_or(id + 1, |n: i64| n.max(id + 1)));
        let m = &u["message"];
        let chat = match &m["chat"]["id"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => continue,
        };
        if !chats.contains(&chat) {
            continue;
        }
        let (Some(reply_to), Some(message_id), Some(text)) = (
            m["reply_to_message"]["message_id"].as_i64(),
            m["message_id"].as_i64(),
            m["text"].as_str(),
        ) else {
            continue;
        };
        let from = &m["from"];
        let name = [from["first_name"].as_str(), from["last_name"].as_str()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let by = match (name.is_empty(), from["username"].as_str()) {
            (false, Some(u)) => format!("{name} (@{u})"),
            (false, None) => name,
            (true, Some(u)) => format!("@{u}"),
            (true, None) => format!("pengguna Telegram {}", from["id"]),
        };
        out.push(Reply {
            chat,
            message_id,
            reply_to: reply_to.to_string(),
            by,
            text: text.to_owned(),
        });
    }
    (out, next)
}

/// Read `bot`'s replies until cancelled and acknowledge the incidents they take.
pub async fn run_replies(bot: Bot, queue: Queue, ack: Ack, cancel: CancellationToken) {
    let q = queue.clone();
    let notifier = bot.notifier.clone();
    let mut offset = match tokio::task::spawn_blocking(move || q.reply_offset(&notifier)).await {
        Ok(Ok(o)) => o,
        _ => 0,
    };
    let mut failures = 0_u32;
    loop {
        // allowed_updates=["message"], URL-encoded.
        let req = bot
            .get(&format!(
                "getUpdates?offset={offset}&timeout={LONG_POLL_S}&allowed_updates=%5B%22message%22%5D"
            ))
            .timeout(Duration::from_secs(LONG_POLL_S + 15));
        let answer = tokio::select! {
            () = cancel.cancelled() => return,
            r = req.send() => r,
        };
        let body: Result<Value, String> = match answer {
            Ok(r) if r.status().is_success() => {
                r.json().await.map_err(|e| e.without_url().to_string())
            }
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) => Err(crate::cause::chain(&e.without_url())),
        };
        let v = match body {
            Ok(v) => {
                failures = 0;
                v
            }
            Err(why) => {
                failures += 1;
                tracing::warn!(notifier = %bot.notifier, error = %why, "cannot read replies from Telegram");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(super::backoff(failures)) => continue,
                }
            }
        };
        let (replies, next) = read_updates(&v, &bot.chats);
        for r in replies {
            handle(&bot, &queue, &ack, r).await;
        }
        if let Some(n) = next {
            offset = n;
            let (q, notifier) = (queue.clone(), bot.notifier.clone());
            if !matches!(
                tokio::task::spawn_blocking(move || q.set_reply_offset(&notifier, n)).await,
                Ok(Ok(()))
            ) {
                tracing::warn!(notifier = %bot.notifier, "cannot keep the Telegram reply offset");
            }
        }
    }
}

async fn handle(bot: &Bot, queue: &Queue, ack: &Ack, r: Reply) {
    if !is_ack(&r.text) {
        return;
    }
    let (q, notifier, chat, reply_to) = (
        queue.clone(),
        bot.notifier.clone(),
        r.chat.clone(),
        r.reply_to.clone(),
    );
    let event = match tokio::task::spawn_blocking(move || q.sent_event(&notifier, &chat, &reply_to))
        .await
    {
        Ok(Ok(Some(e))) => e,
        // A reply to something else the bot said, or to nothing we kept.
        Ok(Ok(None)) => return,
        _ => {
            tracing::warn!(notifier = %bot.notifier, "cannot read the notification queue for a reply");
            return;
        }
    };
    let by = format!("{} lewat Telegram", r.by);
    let (a, incident, who) = (Arc::clone(ack), event.incident.clone(), by.clone());
    let done = tokio::task::spawn_blocking(move || a(&incident, &who)).await;
    let text = match done {
        Ok(Ok(0)) => format!(
            "Gangguan ini sudah dicatat ditangani, atau sudah selesai: tidak ada yang diubah ({}).",
            r.by
        ),
        Ok(Ok(n)) => {
            tracing::info!(incident = %event.incident.id, by = %by, entries = n, "incident acknowledged by a reply");
            format!(
                "Diterima: {} menangani gangguan ini (tercatat di riwayat gangguan juknis).",
                r.by
            )
        }
        Ok(Err(why)) => {
            tracing::warn!(incident = %event.incident.id, error = %why, "cannot acknowledge an incident from a reply");
            "Maaf, tanda terima belum tercatat; coba lagi atau akui dari dasbor.".to_owned()
        }
        Err(e) => {
            tracing::warn!(error = %e, "acknowledging from a reply failed");
            return;
        }
    };
    let answer = bot
        .post("sendMessage")
        .json(&json!({
            "chat_id": r.chat,
            "text": text,
            "reply_to_message_id": r.message_id,
            "disable_web_page_preview": true,
        }))
        .send()
        .await;
    if let Err(e) = answer {
        tracing::warn!(notifier = %bot.notifier, error = %crate::cause::chain(&e.without_url()), "cannot answer a reply");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_that_take_an_incident() {
        for yes in [
            "ok",
            "Oke, saya ke Diskominfo",
            "SIAP",
            "ditangani",
            "/ack",
            "/ack@juknis_bot",
            "ok!",
            "Diterima.",
        ] {
            assert!(is_ack(yes), "{yes}");
        }
        for no in ["", "okey dokey", "belum", "tidak ok", "kenapa?", "/status"] {
            assert!(!is_ack(no), "{no}");
        }
    }

    #[test]
    fn only_replies_in_the_notifiers_chats_count_and_every_update_is_confirmed() {
        let answer = json!({"ok": true, "result": [
            {"update_id": 7, "message": {"message_id": 50, "chat": {"id": -1001234567890_i64, "type": "supergroup"},
                "from": {"id": 42, "first_name": "Budi", "last_name": "Santoso", "username": "budi_tek"},
                "text": "siap", "reply_to_message": {"message_id": 12}}},
            {"update_id": 8, "message": {"message_id": 51, "chat": {"id": -100999, "type": "group"},
                "from": {"id": 43, "first_name": "Orang Lain"}, "text": "ok", "reply_to_message": {"message_id": 12}}},
            {"update_id": 9, "message": {"message_id": 52, "chat": {"id": -1001234567890_i64},
                "from": {"id": 44, "first_name": "Sari"}, "text": "ok"}},
            {"update_id": 10, "edited_message": {}}
        ]});
        let (replies, next) = read_updates(&answer, &["-1001234567890".to_owned()]);
        assert_eq!(next, Some(11));
        assert_eq!(
            replies,
            [Reply {
                chat: "-1001234567890".into(),
                message_id: 50,
                reply_to: "12".into(),
                by: "Budi Santoso (@budi_tek)".into(),
                text: "siap".into(),
            }]
        );
        assert_eq!(
            read_updates(&json!({"ok": true, "result": []}), &[]),
            (vec![], None)
        );
    }
}
