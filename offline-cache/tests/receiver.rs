//! The reference receiver's protocol duties, checked over real HTTP.

use std::time::{Duration, Instant};

use offline_cache::RecipientKey;
use offline_cache_receiver::{Fault, ReceiverConfig, ReferenceReceiver, test_keys};

fn body(id: uuid::Uuid, answers: &str) -> serde_json::Value {
    let key = RecipientKey::from_public_key_pem(test_keys::PUBLIC_KEY_PEM, None).unwrap();
    serde_json::json!({
        "id": id,
        "reference": "GE-K27-4F7Q9-X",
        "serviceId": "dog-tax",
        "serviceVersion": 1,
        "createdAt": "2026-11-24T09:15:02Z",
        "encryptedData": key.encrypt(answers.as_bytes()).unwrap(),
    })
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    key: Option<uuid::Uuid>,
    body: &serde_json::Value,
) -> reqwest::Result<(u16, String)> {
    let mut request = client.post(format!("{url}/v1/submissions")).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key.to_string());
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_delivery_replay_conflict_and_key_reuse() {
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    let url = receiver.base_url();
    let client = reqwest::Client::new();
    let id = uuid::Uuid::new_v4();
    let first = body(id, r#"{"dog":"Bello"}"#);

    let (status, answer) = post(&client, &url, Some(id), &first).await.unwrap();
    assert_eq!(status, 201, "{answer}");
    assert!(answer.contains("serverReference"));
    // A replay gets the identical answer and stores nothing new.
    assert_eq!(
        post(&client, &url, Some(id), &first).await.unwrap(),
        (201, answer.clone())
    );
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.received()[0].plaintext, br#"{"dog":"Bello"}"#);
    assert_eq!(receiver.stats().replays, 1);

    // Same key, different body (a fresh encryption of other answers): 422.
    let (status, answer) = post(&client, &url, Some(id), &body(id, r#"{"dog":"Rex"}"#))
        .await
        .unwrap();
    assert_eq!(
        (status, answer.contains("idempotency-key-reused")),
        (422, true),
        "{answer}"
    );

    // While the same key is in flight: 409 with Retry-After.
    let slow_id = uuid::Uuid::new_v4();
    let slow = body(slow_id, "{}");
    receiver.push_faults([Fault::Delay(Duration::from_millis(600))]);
    let first_try = {
        let (client, url, slow) = (client.clone(), url.clone(), slow.clone());
        tokio::spawn(async move { post(&client, &url, Some(slow_id), &slow).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let response = client
        .post(format!("{url}/v1/submissions"))
        .header("Idempotency-Key", slow_id.to_string())
        .json(&slow)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(first_try.await.unwrap().unwrap().0, 201);
    assert_eq!(receiver.stats().in_flight_conflicts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_and_injected_faults() {
    let receiver = ReferenceReceiver::start(ReceiverConfig::with_test_key())
        .await
        .unwrap();
    let url = receiver.base_url();
    let client = reqwest::Client::new();

    let id = uuid::Uuid::new_v4();
    assert_eq!(
        post(&client, &url, None, &body(id, "{}")).await.unwrap().0,
        400
    );
    let (status, answer) = post(&client, &url, Some(uuid::Uuid::new_v4()), &body(id, "{}"))
        .await
        .unwrap();
    assert_eq!(
        (status, answer.contains("id-does-not-match")),
        (422, true),
        "{answer}"
    );
    let mut broken = body(id, "{}");
    broken["encryptedData"] = "a.b.c.d.e".into();
    let (status, answer) = post(&client, &url, Some(id), &broken).await.unwrap();
    assert_eq!(
        (status, answer.contains("undecryptable")),
        (422, true),
        "{answer}"
    );
    let not_json = uuid::Uuid::new_v4();
    let (status, answer) = post(&client, &url, Some(not_json), &body(not_json, "plain text"))
        .await
        .unwrap();
    assert_eq!(
        (status, answer.contains("payload-not-json")),
        (422, true),
        "{answer}"
    );
    assert!(receiver.received().is_empty());

    // Connection dropped after the commit: the client sees an error, the replay the stored answer.
    let id = uuid::Uuid::new_v4();
    let submission = body(id, r#"{"a":1}"#);
    receiver.push_faults([Fault::ResetAfterCommit]);
    assert!(post(&client, &url, Some(id), &submission).await.is_err());
    assert_eq!(receiver.received().len(), 1);
    let (status, answer) = post(&client, &url, Some(id), &submission).await.unwrap();
    assert_eq!(status, 201);
    assert!(answer.contains(&receiver.received()[0].server_reference));

    // Dropped before the commit: nothing stored, the key is free again.
    let id = uuid::Uuid::new_v4();
    let submission = body(id, r#"{"b":2}"#);
    receiver.push_faults([Fault::ResetBeforeCommit]);
    assert!(post(&client, &url, Some(id), &submission).await.is_err());
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        post(&client, &url, Some(id), &submission).await.unwrap().0,
        201
    );

    // 500 and 503 store nothing; slow bodies arrive complete but late.
    let id = uuid::Uuid::new_v4();
    let submission = body(id, r#"{"c":3}"#);
    receiver.push_faults([
        Fault::Status500,
        Fault::Status503 {
            retry_after_secs: 7,
        },
        Fault::SlowBody(Duration::from_millis(20)),
    ]);
    assert_eq!(
        post(&client, &url, Some(id), &submission).await.unwrap().0,
        500
    );
    let response = client
        .post(format!("{url}/v1/submissions"))
        .header("Idempotency-Key", id.to_string())
        .json(&submission)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            response.status().as_u16(),
            response.headers()["retry-after"].to_str().unwrap()
        ),
        (503, "7")
    );
    let started = Instant::now();
    let (status, answer) = post(&client, &url, Some(id), &submission).await.unwrap();
    assert_eq!(status, 201);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "not slow: {:?}",
        started.elapsed()
    );
    assert!(serde_json::from_str::<serde_json::Value>(&answer).is_ok());
    assert_eq!(receiver.received().len(), 3);
}
