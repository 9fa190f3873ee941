//! Parsers never panic on arbitrary input (property tests, beside the coverage-guided
//! cargo-fuzz targets in fuzz/): cell normalisers for every field, header matching,
//! text decoding and CSV parsing.

use caseaudit_engine::cell::{Cell, RawSheet};
use caseaudit_engine::header::{detect, AliasIndex};
use caseaudit_engine::load::{decode_text, parse_csv};
use caseaudit_engine::normalize::{normalize, parse_date_text};
use caseaudit_rules::RulePack;
use proptest::prelude::*;
use std::sync::OnceLock;

fn pack() -> &'static RulePack {
    static P: OnceLock<RulePack> = OnceLock::new();
    P.get_or_init(|| RulePack::builtin().unwrap_or_else(|e| panic!("{e}")))
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        Just(Cell::Empty),
        ".{0,40}".prop_map(Cell::Text),
        "[0-9０-９年月日/.\\-: ,，万千元√×是否]{0,24}".prop_map(Cell::Text),
        any::<f64>().prop_map(Cell::Number),
        any::<bool>().prop_map(Cell::Bool),
        (-1_000_000i32..3_000_000).prop_map(Cell::Date),
        "#[A-Z/0!?]{1,6}".prop_map(Cell::Error),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn normalising_any_cell_as_any_field_never_panics(c in cell(), scale in prop_oneof![Just(1.0), Just(10000.0)], d1904 in any::<bool>()) {
        let p = pack();
        for f in p.fields.iter() {
            let _ = normalize(&c, f, &p.fields.words, scale, d1904);
        }
    }

    #[test]
    fn date_text_never_panics(s in ".{0,30}") {
        let _ = parse_date_text(&s, false);
    }

    #[test]
    fn header_lookup_never_panics(s in ".{0,30}") {
        let idx = AliasIndex::new(&pack().fields);
        let _ = idx.lookup(&s);
    }

    #[test]
    fn decoding_and_csv_parsing_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(text) = decode_text(&bytes) {
            if let Ok(sheet) = parse_csv(&text, "x.csv") {
                let idx = AliasIndex::new(&pack().fields);
                let _ = detect(&sheet, &pack().fields, &idx);
            }
        }
    }

    #[test]
    fn header_detection_on_random_grids_never_panics(rows in proptest::collection::vec(proptest::collection::vec(cell(), 0..8), 0..12)) {
        let sheet = RawSheet {
            file: "x".into(),
            sheet: "s".into(),
            rows: rows.into_iter().enumerate().map(|(i, r)| (i as u32 + 1, r)).collect(),
            date1904: false,
        };
        let idx = AliasIndex::new(&pack().fields);
        let _ = detect(&sheet, &pack().fields, &idx);
    }
}
