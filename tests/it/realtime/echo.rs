//! The conformance echo (`KWANJE_CONFORMANCE=1`, `/ws-echo`): the Autobahn suite runs against it
//! outside `cargo test` (README); these check its reassembly of fragmented messages here.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

use super::client::{next_message, Ws};
use crate::support::{Backend, Server};

async fn echo() -> (Server, Ws) {
    let s = Server::start_with(Backend::Sqlite, |c| c.conformance = true).await;
    let url = format!("{}/ws-echo", s.base.replace("http://", "ws://"));
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    (s, ws)
}

fn piece(data: &[u8], opcode: Data, last: bool) -> Message {
    Message::Frame(Frame::message(data.to_vec(), OpCode::Data(opcode), last))
}

#[actix_web::test]
async fn a_fragmented_message_comes_back_whole() {
    let (_s, mut ws) = echo().await;
    ws.send(piece(b"shift ", Data::Text, false)).await.unwrap();
    ws.send(piece(b"hand", Data::Continue, false)).await.unwrap();
    ws.send(piece(b"over", Data::Continue, true)).await.unwrap();
    assert_eq!(next_message(&mut ws).await, Message::text("shift handover"));
}

#[actix_web::test]
async fn a_fragmented_message_that_is_not_utf8_closes_with_1007() {
    let (_s, mut ws) = echo().await;
    // "관" is EA B4 80: split across pieces it is fine, cut short it is not UTF-8.
    ws.send(piece(&[0xEA, 0xB4], Data::Text, false)).await.unwrap();
    ws.send(piece(&[0x80, 0xEA], Data::Continue, true)).await.unwrap();
    match next_message(&mut ws).await {
        Message::Close(Some(close)) => assert_eq!(close.code, CloseCode::Invalid),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[actix_web::test]
async fn a_continuation_with_nothing_to_continue_closes_with_1002() {
    let (_s, mut ws) = echo().await;
    ws.send(piece(b"stray", Data::Continue, true)).await.unwrap();
    match next_message(&mut ws).await {
        Message::Close(Some(close)) => assert_eq!(close.code, CloseCode::Protocol),
        other => panic!("expected a close frame, got {other:?}"),
    }
}
