//! 1,000 threads running at once all complete.

use std::time::Duration;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_threads_at_once_all_complete() {
    const THREADS: usize = 1000;
    let _ = rlimit::increase_nofile_limit(4 * THREADS as u64);
    let server = std::sync::Arc::new(TestServer::start().await);
    // Every thread reaches its interrupt before any is approved, so all
    // 1,000 runs are alive at the same time.
    let mut waiting = Vec::new();
    for i in 0..THREADS {
        let server = server.clone();
        waiting.push(tokio::spawn(async move {
            server
                .interrupted(&format!("research plan for topic {i}"))
                .await
        }));
    }
    let mut clients = Vec::new();
    for task in waiting {
        clients.push(task.await.unwrap());
    }
    let interrupted = server
        .runtime
        .list(None)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.status == protocol::ThreadStatus::Interrupted)
        .count();
    assert_eq!(interrupted, THREADS);

    let mut finishing = Vec::new();
    for (i, (_, mut client, interrupt)) in clients.into_iter().enumerate() {
        finishing.push(tokio::spawn(async move {
            client.approve(&interrupt).await;
            let frames = client.recv_until("run_finished").await;
            assert!(streamed_text(&frames).contains(&format!("topic {i}")));
            frames.last().unwrap()["status"].clone()
        }));
    }
    let mut completed = 0;
    for task in finishing {
        if tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .unwrap()
            .unwrap()
            == "completed"
        {
            completed += 1;
        }
    }
    assert_eq!(completed, THREADS);
    assert!(server
        .runtime
        .list(None)
        .await
        .unwrap()
        .iter()
        .all(|t| t.status == protocol::ThreadStatus::Idle));
}
