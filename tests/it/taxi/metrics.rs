//! What `/metrics` says of dispatch: taxis served and their waits by terminal, service region
//! and class, and what stands in each line now.

use serde_json::json;

use super::Airport;
use crate::support::backends;
use crate::support::scrape::Scrape;

#[actix_web::test]
async fn dispatch_figures_are_scraped_per_terminal_region_and_class() {
    for backend in backends() {
        let a = Airport::start(backend).await;
        let plates = ["S1", "S2", "S3", "S4"];
        for plate in plates {
            a.register(plate, "seoul", "standard").await;
            a.goes_live(plate).await;
        }
        let (status, body) = a.configure("T1", "regional", json!({"seoul": 1})).await;
        assert_eq!(status, 200, "{body}");
        for plate in plates {
            assert_eq!(a.arrive(plate, "T1").await.0, 201, "{plate}");
        }
        // One bay: S1 is called at once, S2 when S1 leaves at 06:02 (a 2-minute wait), S3
        // when S2 leaves at 06:03; S4 still waits in the lot.
        a.at(2.0).await;
        let (status, first) = a.request("T1", "seoul", 25.0, None).await;
        assert_eq!((status, &first["plate"]), (201, &json!("S1")), "{first}");
        a.pickup(&first["id"]).await;
        a.at(3.0).await;
        let (status, second) = a.request("T1", "seoul", 25.0, None).await;
        assert_eq!((status, &second["plate"]), (201, &json!("S2")), "{second}");
        a.pickup(&second["id"]).await;

        let scrape = Scrape::of(&a.s).await;
        let text = &scrape.text;
        let cell = [("terminal", "T1"), ("region", "seoul"), ("class", "standard")];
        assert_eq!(scrape.number("kwanje_dispatch_served", &cell), Some(2.0), "{text}");
        assert_eq!(
            scrape.number("kwanje_dispatch_wait_seconds", &cell),
            Some(120.0),
            "{text}"
        );
        assert_eq!(
            scrape.number("kwanje_dispatch_wait_max_seconds", &cell),
            Some(120.0),
            "{text}"
        );
        // The lower median of 0 and 120 s.
        assert_eq!(
            scrape.number("kwanje_dispatch_wait_p50_seconds", &cell),
            Some(0.0),
            "{text}"
        );
        assert_eq!(scrape.number("kwanje_dispatch_no_shows", &cell), Some(0.0), "{text}");
        let line = [("terminal", "T1"), ("line", "seoul/standard")];
        assert_eq!(scrape.number("kwanje_dispatch_waiting", &line), Some(1.0), "{text}");
        assert_eq!(scrape.number("kwanje_dispatch_at_curb", &line), Some(1.0), "{text}");
        assert_eq!(
            scrape.number("kwanje_dispatch_held", &[("terminal", "T1")]),
            Some(0.0),
            "{text}"
        );
        a.s.stop().await;
    }
}
