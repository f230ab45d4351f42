//! The PDF a magistrate reads, made with printpdf: A4, DejaVu Sans
//! embedded (vendored in `fonts/` with its licence), the pack's reference
//! and "page N of M" on every page. The layout is a pure function of the
//! manifest and the statements, so the verifier lays the PDF out again and
//! compares its text, line by line, with the PDF it was given (read with
//! lopdf, which printpdf is built on).

use printpdf::{Mm, PdfDocument};

use super::statements::Statement;
use super::Manifest;

/// DejaVu Sans (Bitstream Vera licence; `fonts/DejaVu-LICENSE.txt`).
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const LINES_PER_PAGE: usize = 52;
const WRAP: usize = 100;
const MARGIN: f32 = 15.0;

/// Who a line of the PDF belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The page's running header or footer.
    Frame,
    /// The pack's own description (request, rules, key).
    Cover,
    /// A statement, by reference.
    Statement(String),
}

/// One line of text on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Whose.
    pub owner: Owner,
    /// The text.
    pub text: String,
    /// Font size, points.
    pub size: f32,
    /// Distance from the left edge, mm.
    pub x: f32,
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let fits = line.chars().count() + word.chars().count() < width;
        if !line.is_empty() && !fits {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            let tail: String = line.chars().skip(width).collect();
            out.push(head);
            line = tail;
        }
    }
    out.push(line);
    out
}

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The pages' lines (without the running header and footer).
pub fn layout(manifest: &Manifest, statements: &[Statement]) -> Vec<Vec<Line>> {
    let mut body: Vec<Line> = Vec::new();
    // `indent`: mm of the first line past the margin; `hang`: of the
    // lines a long text wraps onto.
    let mut push = |owner: &Owner, text: String, size: f32, indent: f32, hang: f32| {
        let width = WRAP - (indent.max(hang) / 2.0) as usize;
        for (i, l) in wrap(&text, width).into_iter().enumerate() {
            body.push(Line {
                owner: owner.clone(),
                text: l,
                size,
                x: MARGIN + if i == 0 { indent } else { hang },
            });
        }
    };
    let cover = Owner::Cover;
    let r = &manifest.request;
    let produced = format!(
        "Produced by {} on {} for {}",
        r.produced_by,
        utc(manifest.created_ms),
        r.recipient
    );
    let summary = format!(
        "{} statement(s) from {} device(s). Each is an event signed on the device that recorded it; the bundle (bundle.json) holds the signed events and the manifest signed by the office. Check them with: fieldbook-server verify-pack --bundle bundle.json --pdf pack.pdf --office-key <the key above>",
        statements.len(),
        manifest.devices.len()
    );
    push(
        &cover,
        "Evidence pack: what was recorded".into(),
        14.0,
        0.0,
        0.0,
    );
    push(&cover, format!("Person (CRN): {}", r.crn), 10.0, 0.0, 0.0);
    push(
        &cover,
        format!("Period: {} to {}", r.from, r.to),
        10.0,
        0.0,
        0.0,
    );
    push(&cover, produced, 10.0, 0.0, 4.0);
    push(&cover, format!("Reason: {}", r.reason), 10.0, 0.0, 4.0);
    let reference = format!("Pack reference: {}", manifest.reference);
    push(&cover, reference, 10.0, 0.0, 0.0);
    let key = format!("Office signing key: {}", manifest.office_key);
    push(&cover, key, 8.0, 0.0, 4.0);
    push(&cover, summary, 9.0, 0.0, 0.0);
    push(&cover, "Disclosure rules applied:".into(), 9.0, 0.0, 0.0);
    for rule in &manifest.rules {
        push(&cover, format!("- {rule}"), 9.0, 0.0, 3.0);
    }
    push(&cover, String::new(), 9.0, 0.0, 0.0);
    for s in statements {
        let owner = Owner::Statement(s.reference.clone());
        let heading = format!("{} {}", s.reference, s.heading);
        push(&owner, heading, 10.5, 0.0, 6.0);
        for l in &s.lines {
            push(&owner, l.clone(), 9.0, 6.0, 10.0);
        }
        push(&owner, String::new(), 9.0, 0.0, 0.0);
    }
    let mut pages: Vec<Vec<Line>> = body.chunks(LINES_PER_PAGE).map(|c| c.to_vec()).collect();
    if pages.is_empty() {
        pages.push(Vec::new());
    }
    pages
}

fn frame(manifest: &Manifest, page: usize, pages: usize) -> (Line, Line) {
    (
        Line {
            owner: Owner::Frame,
            text: format!(
                "Fieldbook evidence pack {} · CRN {}",
                manifest.reference, manifest.request.crn
            ),
            size: 8.0,
            x: MARGIN,
        },
        Line {
            owner: Owner::Frame,
            text: format!("Reference {} · page {page} of {pages}", manifest.reference),
            size: 8.0,
            x: MARGIN,
        },
    )
}

/// The lines of every page in drawing order: header, body, footer.
pub fn drawn(manifest: &Manifest, statements: &[Statement]) -> Vec<Vec<Line>> {
    let pages = layout(manifest, statements);
    let n = pages.len();
    pages
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let (head, foot) = frame(manifest, i + 1, n);
            let mut all = vec![head];
            all.extend(body.into_iter().filter(|l| !l.text.is_empty()));
            all.push(foot);
            all
        })
        .collect()
}

/// Renders the PDF.
pub fn render(manifest: &Manifest, statements: &[Statement]) -> Result<Vec<u8>, String> {
    let pages = layout(manifest, statements);
    let n = pages.len();
    let (doc, first_page, first_layer) = PdfDocument::new(
        format!("Evidence pack {}", manifest.reference),
        Mm(PAGE_W),
        Mm(PAGE_H),
        "text",
    );
    let font = doc
        .add_external_font(std::io::Cursor::new(FONT))
        .map_err(|_| "the PDF font cannot be loaded".to_owned())?;
    for (i, body) in pages.iter().enumerate() {
        let (page, layer) = if i == 0 {
            (first_page, first_layer)
        } else {
            doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "text")
        };
        let layer = doc.get_page(page).get_layer(layer);
        let (head, foot) = frame(manifest, i + 1, n);
        layer.use_text(head.text, head.size, Mm(head.x), Mm(PAGE_H - 12.0), &font);
        let mut y = PAGE_H - 24.0;
        for line in body {
            if !line.text.is_empty() {
                layer.use_text(line.text.clone(), line.size, Mm(line.x), Mm(y), &font);
            }
            y -= if line.size > 10.0 { 6.5 } else { 4.6 };
        }
        layer.use_text(foot.text, foot.size, Mm(foot.x), Mm(10.0), &font);
    }
    doc.save_to_bytes()
        .map_err(|_| "the PDF cannot be written".to_owned())
}

/// The text operands (`Tj`) of each page, in order, as the PDF holds them
/// (glyph ids); `Err` when the file does not read as a PDF. The file is
/// untrusted input: a parser panic is caught and reported as unreadable.
pub fn text_runs(pdf: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    let pdf = pdf.to_vec();
    std::panic::catch_unwind(move || runs(&pdf))
        .unwrap_or_else(|_| Err("not a readable PDF".to_owned()))
}

fn runs(pdf: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    use printpdf::lopdf;
    let doc = lopdf::Document::load_mem(pdf).map_err(|_| "not a readable PDF".to_owned())?;
    let mut out = Vec::new();
    for (_, id) in doc.get_pages() {
        let content = doc
            .get_page_content(id)
            .map_err(|_| "a page's content cannot be read".to_owned())?;
        let ops = lopdf::content::Content::decode(&content)
            .map_err(|_| "a page's content does not parse".to_owned())?;
        let mut runs = Vec::new();
        for op in ops.operations {
            if op.operator == "Tj" {
                if let Some(lopdf::Object::String(bytes, _)) = op.operands.first() {
                    runs.push(bytes.clone());
                }
            }
        }
        out.push(runs);
    }
    Ok(out)
}
