//! The touch test's logic as plain Rust: a grid of cells over the screen, taps mapped to
//! cells, and the cells that never reacted merged into dead zones with a position a
//! technician can find on the glass.

use crate::lang::Lang;

/// Largest grid side: more cells than that would be smaller than a fingertip on a kiosk.
pub const MAX_CELLS_PER_SIDE: usize = 32;

/// A grid size that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a touch grid needs 1 to {MAX_CELLS_PER_SIDE} columns and rows, not {columns}x{rows}; \
     write it as COLUMNSxROWS, e.g. 8x5"
)]
pub struct GridSizeError {
    /// Columns asked for.
    pub columns: usize,
    /// Rows asked for.
    pub rows: usize,
}

/// Parses `8x5` (columns x rows).
pub fn parse_grid(value: &str) -> Result<(usize, usize), GridSizeError> {
    let invalid = GridSizeError {
        columns: 0,
        rows: 0,
    };
    let (columns, rows) = value
        .trim()
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| invalid.clone())?;
    let columns: usize = columns.trim().parse().map_err(|_| invalid.clone())?;
    let rows: usize = rows.trim().parse().map_err(|_| invalid.clone())?;
    TouchGrid::new(columns, rows).map(|_| (columns, rows))
}

/// Which cells of the screen have been touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouchGrid {
    columns: usize,
    rows: usize,
    hits: Vec<u32>,
    taps: usize,
}

impl TouchGrid {
    /// A grid of `columns` x `rows` cells, none touched.
    pub fn new(columns: usize, rows: usize) -> Result<Self, GridSizeError> {
        if !(1..=MAX_CELLS_PER_SIDE).contains(&columns) || !(1..=MAX_CELLS_PER_SIDE).contains(&rows)
        {
            return Err(GridSizeError { columns, rows });
        }
        Ok(Self {
            columns,
            rows,
            hits: vec![0; columns * rows],
            taps: 0,
        })
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.hits.len()
    }

    /// Taps registered inside the screen.
    pub fn taps(&self) -> usize {
        self.taps
    }

    /// The cell (row-major index) under `(x, y)` on a screen `width` x `height`; `None`
    /// outside the screen. A point on the right or bottom edge belongs to the last cell.
    pub fn cell_at(&self, x: f32, y: f32, width: f32, height: f32) -> Option<usize> {
        let inside = |value: f32, limit: f32| value.is_finite() && (0.0..=limit).contains(&value);
        if !(width > 0.0 && height > 0.0 && inside(x, width) && inside(y, height)) {
            return None;
        }
        let column = ((x / width * self.columns as f32) as usize).min(self.columns - 1);
        let row = ((y / height * self.rows as f32) as usize).min(self.rows - 1);
        Some(row * self.columns + column)
    }

    /// Registers a tap; returns the cell it hit (`None` when outside the screen).
    pub fn tap(&mut self, x: f32, y: f32, width: f32, height: f32) -> Option<usize> {
        let cell = self.cell_at(x, y, width, height)?;
        self.hits[cell] = self.hits[cell].saturating_add(1);
        self.taps += 1;
        Some(cell)
    }

    /// Whether the cell (row-major index) has been touched.
    pub fn is_touched(&self, cell: usize) -> bool {
        self.hits.get(cell).is_some_and(|hits| *hits > 0)
    }

    /// Cells not touched yet.
    pub fn untouched(&self) -> usize {
        self.hits.iter().filter(|hits| **hits == 0).count()
    }

    /// Whether every cell has been touched.
    pub fn complete(&self) -> bool {
        self.untouched() == 0
    }

    /// The untouched cells merged into connected areas (cells sharing an edge), in the
    /// order of their first cell (row by row from the top left).
    pub fn dead_zones(&self) -> Vec<DeadZone> {
        let mut seen = vec![false; self.hits.len()];
        let mut zones = Vec::new();
        for start in 0..self.hits.len() {
            if seen[start] || self.is_touched(start) {
                continue;
            }
            seen[start] = true;
            let mut stack = vec![start];
            let mut members = Vec::new();
            while let Some(cell) = stack.pop() {
                members.push(cell);
                let (row, column) = (cell / self.columns, cell % self.columns);
                let mut neighbours = Vec::with_capacity(4);
                if column > 0 {
                    neighbours.push(cell - 1);
                }
                if column + 1 < self.columns {
                    neighbours.push(cell + 1);
                }
                if row > 0 {
                    neighbours.push(cell - self.columns);
                }
                if row + 1 < self.rows {
                    neighbours.push(cell + self.columns);
                }
                for next in neighbours {
                    if !seen[next] && !self.is_touched(next) {
                        seen[next] = true;
                        stack.push(next);
                    }
                }
            }
            zones.push(self.zone_of(&members));
        }
        zones
    }

    fn zone_of(&self, members: &[usize]) -> DeadZone {
        let columns = members.iter().map(|cell| cell % self.columns);
        let rows = members.iter().map(|cell| cell / self.columns);
        let (first_column, last_column) = (
            columns.clone().min().unwrap_or(0),
            columns.max().unwrap_or(0),
        );
        let (first_row, last_row) = (rows.clone().min().unwrap_or(0), rows.max().unwrap_or(0));
        let percent = |index: usize, of: usize| (index * 100 / of) as u8;
        let x_percent = (
            percent(first_column, self.columns),
            percent(last_column + 1, self.columns),
        );
        let y_percent = (
            percent(first_row, self.rows),
            percent(last_row + 1, self.rows),
        );
        let area = if members.len() == self.hits.len() {
            Area::Whole
        } else {
            // Position of the zone's centre, in thirds of the screen.
            let third = |from: u8, to: u8| match (u16::from(from) + u16::from(to)) / 2 {
                0..=33 => 0,
                34..=66 => 1,
                _ => 2,
            };
            Area::from_thirds(
                third(x_percent.0, x_percent.1),
                third(y_percent.0, y_percent.1),
            )
        };
        DeadZone {
            cells: members.len(),
            first_column: first_column + 1,
            last_column: last_column + 1,
            first_row: first_row + 1,
            last_row: last_row + 1,
            x_percent,
            y_percent,
            area,
        }
    }
}

/// Where on the screen a zone lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// Top left.
    TopLeft,
    /// Top middle.
    Top,
    /// Top right.
    TopRight,
    /// Middle left.
    Left,
    /// Centre.
    Centre,
    /// Middle right.
    Right,
    /// Bottom left.
    BottomLeft,
    /// Bottom middle.
    Bottom,
    /// Bottom right.
    BottomRight,
    /// The whole screen (nothing reacted).
    Whole,
}

impl Area {
    fn from_thirds(column: u8, row: u8) -> Self {
        match (row, column) {
            (0, 0) => Area::TopLeft,
            (0, 1) => Area::Top,
            (0, _) => Area::TopRight,
            (1, 0) => Area::Left,
            (1, 1) => Area::Centre,
            (1, _) => Area::Right,
            (_, 0) => Area::BottomLeft,
            (_, 1) => Area::Bottom,
            (_, _) => Area::BottomRight,
        }
    }

    /// The position in words.
    pub fn text(self, lang: Lang) -> &'static str {
        match self {
            Area::TopLeft => lang.pick("oben links", "top left"),
            Area::Top => lang.pick("oben Mitte", "top centre"),
            Area::TopRight => lang.pick("oben rechts", "top right"),
            Area::Left => lang.pick("Mitte links", "middle left"),
            Area::Centre => lang.pick("Bildmitte", "centre"),
            Area::Right => lang.pick("Mitte rechts", "middle right"),
            Area::BottomLeft => lang.pick("unten links", "bottom left"),
            Area::Bottom => lang.pick("unten Mitte", "bottom centre"),
            Area::BottomRight => lang.pick("unten rechts", "bottom right"),
            Area::Whole => lang.pick("ganzer Bildschirm", "whole screen"),
        }
    }
}

/// A connected area of cells that never reacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeadZone {
    /// Number of cells.
    pub cells: usize,
    /// Leftmost column (1-based).
    pub first_column: usize,
    /// Rightmost column (1-based).
    pub last_column: usize,
    /// Top row (1-based).
    pub first_row: usize,
    /// Bottom row (1-based).
    pub last_row: usize,
    /// Horizontal extent of the bounding box in percent of the screen width.
    pub x_percent: (u8, u8),
    /// Vertical extent of the bounding box in percent of the screen height.
    pub y_percent: (u8, u8),
    /// Where it is.
    pub area: Area,
}

impl DeadZone {
    /// The zone in words, e.g. `2 Felder oben rechts (Spalten 7–8, Zeile 1; x 75–100 %,
    /// y 0–20 %)`.
    pub fn text(&self, lang: Lang) -> String {
        let span = |first: usize, last: usize, one: &str, many: &str| {
            if first == last {
                format!("{one} {first}")
            } else {
                format!("{many} {first}–{last}")
            }
        };
        let columns = span(
            self.first_column,
            self.last_column,
            lang.pick("Spalte", "column"),
            lang.pick("Spalten", "columns"),
        );
        let rows = span(
            self.first_row,
            self.last_row,
            lang.pick("Zeile", "row"),
            lang.pick("Zeilen", "rows"),
        );
        let cells = match (lang, self.cells) {
            (Lang::De, 1) => "1 Feld".to_owned(),
            (Lang::De, n) => format!("{n} Felder"),
            (Lang::En, 1) => "1 cell".to_owned(),
            (Lang::En, n) => format!("{n} cells"),
        };
        format!(
            "{cells} {} ({columns}, {rows}; x {}–{} %, y {}–{} %)",
            self.area.text(lang),
            self.x_percent.0,
            self.x_percent.1,
            self.y_percent.0,
            self.y_percent.1
        )
    }
}
