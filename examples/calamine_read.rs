//! The floor for reading an xlsx: calamine's bare read of every sheet, nothing else.
//! Used by benches/whole_run.sh.

use calamine::{open_workbook_auto, Reader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: calamine_read FILE.xlsx")?;
    let mut wb = open_workbook_auto(&path)?;
    let mut cells = 0usize;
    for name in wb.sheet_names().to_vec() {
        let range = wb.worksheet_range(&name)?;
        cells += range.used_cells().count();
    }
    println!("{cells}");
    Ok(())
}
