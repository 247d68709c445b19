//! The fan-out message: encoded once per flavour, and equal to what the generic encoder would
//! write.

use bytes::{Bytes, BytesMut};

use crate::stomp::codec::{encode_to_bytes, Decoder, Inbound, Limits};
use crate::stomp::escape::Escaping;
use crate::stomp::frame::{Command, Frame, Version};
use crate::stomp::message::{MessageId, SharedMessage};

fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn message() -> SharedMessage {
    SharedMessage::new(
        "/topic/devices/gate:1",
        headers(&[
            ("content-type", "application/json"),
            ("sender", "ops\nroom"),
            ("message-id", "forged"),
            ("content-length", "1"),
        ]),
        Bytes::from_static(b"{\"type\":\"device.state\"}"),
    )
}

#[test]
fn delivery_equals_the_generic_encoding_in_every_version() {
    let message = message();
    for version in Version::SUPPORTED {
        for ack in [false, true] {
            let id = MessageId {
                session: "s:1",
                seq: 42,
            };
            let bytes = message.encode_for(Escaping::for_version(version), "sub\\1", id, ack);
            let mut expected = Frame::new(Command::Message)
                .with_header("subscription", "sub\\1")
                .with_header("message-id", id.to_string());
            if ack {
                expected.push_header("ack", id.to_string());
            }
            expected.push_header("destination", "/topic/devices/gate:1");
            expected.push_header("content-type", "application/json");
            expected.push_header("sender", "ops\nroom");
            expected.body = message.body().clone();
            assert_eq!(bytes, encode_to_bytes(&expected, version), "{version} ack={ack}");
            if version != Version::V1_0 {
                let mut decoder = Decoder::new(Limits::default());
                decoder.set_version(version);
                let decoded = decoder.decode(&mut BytesMut::from(&bytes[..])).unwrap();
                let Some(Inbound::Frame(frame)) = decoded else {
                    panic!("no frame");
                };
                assert_eq!(frame.header("sender"), Some("ops\nroom"));
                assert_eq!(frame.header("message-id"), Some("s:1-42"));
            }
        }
    }
}

#[test]
fn the_tail_is_built_once_per_flavour_and_shared() {
    let message = message();
    let first = message.tail(Escaping::V12).clone();
    let again = message.tail(Escaping::V12).clone();
    assert_eq!(first.as_ptr(), again.as_ptr());
    assert_ne!(first.as_ptr(), message.tail(Escaping::V11).as_ptr());
    assert!(first.starts_with(b"destination:/topic/devices/gate\\c1\n"));
    assert!(first.ends_with(b"\n\n{\"type\":\"device.state\"}\0"));
}

#[test]
fn reserved_headers_are_dropped_and_text_is_detected() {
    let message = message();
    let names: Vec<&str> = message.headers().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["content-type", "sender"]);
    assert!(message.is_text());
    let binary = SharedMessage::new("/x", Vec::new(), Bytes::from_static(&[0xff, 0]));
    assert!(!binary.is_text());
}
