//! Drawing: a table of numbers (categories × series) as an SVG bar or line
//! chart, with plotters' SVG backend (text stays text: no font library).
//!
//! ```text
//!   ┌ title ─────────────────────────────────────┬──────────────┐
//!   │ y  ▆▆▆      ▆▆▆      ▆▆▆                    │ ■ series 1   │
//!   │    ███▆     ███▆     ███▆    (bar chart)    │ ■ series 2   │
//!   │    fill     churn    compact  <- categories │   (legend)   │
//!   └────────────────────────────────────────────┴──────────────┘
//! ```
//!
//! A chart never needs to know where its numbers came from: the chart
//! functions in `charts` build a [`Table`] and pick a style.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One line or one colour of bars: a value per category (None: no data).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// What a chart shows.
#[derive(Clone, Debug)]
pub struct Table {
    pub title: String,
    /// The y axis' description (with its unit), and the x axis' if any.
    pub y_label: String,
    pub x_label: Option<String>,
    /// The x axis' categories, left to right.
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    /// Logarithmic y axis (for values of very different sizes).
    pub log_scale: bool,
    /// How a value is written above its bar or point.
    pub value_format: fn(f64) -> String,
}

impl Table {
    /// A linear table with values written with `value_format`.
    pub fn new(title: &str, y_label: &str, value_format: fn(f64) -> String) -> Table {
        Table {
            title: title.to_string(),
            y_label: y_label.to_string(),
            x_label: None,
            categories: Vec::new(),
            series: Vec::new(),
            log_scale: false,
            value_format,
        }
    }

    /// Put `value` at (`series`, `category`), adding either if new.
    pub fn set(&mut self, series: &str, category: &str, value: f64) {
        let column = match self.categories.iter().position(|name| name == category) {
            Some(column) => column,
            None => {
                self.categories.push(category.to_string());
                for row in &mut self.series {
                    row.values.push(None);
                }
                self.categories.len() - 1
            }
        };
        let row = match self.series.iter().position(|row| row.name == series) {
            Some(row) => row,
            None => {
                self.series.push(Series {
                    name: series.to_string(),
                    values: vec![None; self.categories.len()],
                });
                self.series.len() - 1
            }
        };
        self.series[row].values[column] = Some(value);
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.series
            .iter()
            .flat_map(|row| row.values.iter().flatten().copied())
    }

    /// Whether there is anything to draw.
    pub fn is_empty(&self) -> bool {
        self.values().next().is_none()
    }
}

/// How the numbers are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Side-by-side bars per category.
    Bars,
    /// One line per series through the categories.
    Lines,
}

/// Distinct colours (Tableau 10), reused in order.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

const LEGEND_WIDTH: u32 = 300;
const HEIGHT: u32 = 480;
const FONT: &str = "sans-serif";
/// Room for one category's label, in pixels.
const CATEGORY_WIDTH: u32 = 150;
/// Above this many values, bars carry no value labels (they would overlap).
const MAX_VALUE_LABELS: usize = 40;

fn colour(index: usize) -> RGBColor {
    COLOURS[index % COLOURS.len()]
}

/// Draw `table` as an SVG document.
pub fn render(table: &Table, style: Style) -> Result<String, String> {
    if table.is_empty() {
        return Err(format!("'{}' has no values", table.title));
    }
    let width = LEGEND_WIDTH + (CATEGORY_WIDTH * table.categories.len() as u32).clamp(600, 2000);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        let (plot, legend) = root.split_horizontally(width - LEGEND_WIDTH);
        let highest = table.values().fold(f64::MIN, f64::max);
        let columns = -0.5..table.categories.len() as f64 - 0.5;
        if table.log_scale {
            let lowest = table
                .values()
                .filter(|value| *value > 0.0)
                .fold(f64::MAX, f64::min);
            let range = (lowest / 2.0)..(highest * 4.0);
            draw(
                table,
                style,
                &plot,
                columns,
                range.log_scale(),
                lowest / 2.0,
            )?;
        } else {
            let range = 0.0..(highest * 1.15).max(f64::MIN_POSITIVE);
            draw(table, style, &plot, columns, range, 0.0)?;
        }
        draw_legend(table, &legend)?;
        root.present().map_err(error)?;
    }
    Ok(svg)
}

fn error(error: impl std::fmt::Display) -> String {
    format!("drawing failed: {error}")
}

/// The chart itself, for a linear or a logarithmic y axis.
fn draw<Y>(
    table: &Table,
    style: Style,
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    columns: std::ops::Range<f64>,
    y_range: Y,
    baseline: f64,
) -> Result<(), String>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&table.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d::<RangedCoordf64, Y>(columns.into(), y_range)
        .map_err(error)?;
    let categories = &table.categories;
    // Every category is named if there is room, else every n-th.
    let step = (categories.len() * CATEGORY_WIDTH as usize)
        .div_ceil(2000)
        .max(1);
    let category_label = |x: &f64| {
        let index = x.round();
        if (x - index).abs() < 1e-6 && index >= 0.0 && (index as usize).is_multiple_of(step) {
            categories.get(index as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(categories.len())
        .x_label_formatter(&category_label)
        .x_label_style((FONT, 13))
        .x_desc(table.x_label.as_deref().unwrap_or(""))
        .y_desc(table.y_label.as_str())
        .y_label_formatter(&|value: &f64| axis_number(*value))
        .draw()
        .map_err(error)?;
    let series_count = table.series.len();
    let labelled = table.values().count() <= MAX_VALUE_LABELS;
    for (index, row) in table.series.iter().enumerate() {
        let colour = colour(index);
        let points: Vec<(f64, f64)> = row
            .values
            .iter()
            .enumerate()
            .filter_map(|(column, value)| {
                let x = match style {
                    Style::Bars => {
                        let width = 0.8 / series_count as f64;
                        column as f64 - 0.4 + width * (index as f64 + 0.5)
                    }
                    Style::Lines => column as f64,
                };
                Some((x, (*value)?))
            })
            .collect();
        match style {
            Style::Bars => {
                let half = 0.4 / series_count as f64 * 0.9;
                chart
                    .draw_series(points.iter().map(|&(x, y)| {
                        Rectangle::new([(x - half, baseline), (x + half, y)], colour.filled())
                    }))
                    .map_err(error)?;
            }
            Style::Lines => {
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        colour.stroke_width(2),
                    ))
                    .map_err(error)?;
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&point| Circle::new(point, 4, colour.filled())),
                    )
                    .map_err(error)?;
            }
        }
        if labelled {
            chart
                .draw_series(points.iter().map(|&(x, y)| {
                    let style = TextStyle::from((FONT, 11).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Bottom));
                    Text::new((table.value_format)(y), (x, y), style)
                }))
                .map_err(error)?;
        }
    }
    Ok(())
}

/// An axis label: whole numbers without decimals, others with up to three.
fn axis_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').to_string()
    }
}

/// The series' colours and names, in a column right of the chart.
fn draw_legend(
    table: &Table,
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
) -> Result<(), String> {
    for (index, row) in table.series.iter().enumerate() {
        let top = 50 + 24 * index as i32;
        area.draw(&Rectangle::new(
            [(8, top), (24, top + 14)],
            colour(index).filled(),
        ))
        .map_err(error)?;
        area.draw(&Text::new(row.name.clone(), (32, top), (FONT, 14)))
            .map_err(error)?;
    }
    Ok(())
}
