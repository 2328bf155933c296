//! Model and API answers as Markdown, safely (pure, tested natively).
//!
//! [`parse`] runs pulldown-cmark over the text and builds a small tree ([`MdNode`]) whose
//! element names come only from this file's own list and whose only attributes are checked
//! link targets: the page turns it into Yew nodes one by one (`chat::view`), never through an
//! HTML string. What the tree cannot hold shows as text:
//! - raw HTML in the answer (`<img onerror=…>`, `<script>`, `<iframe>`) is text;
//! - a link keeps its `href` only for `http:`, `https:` and `mailto:`, and opens in a new tab
//!   with `rel="noopener noreferrer"`; any other link (`javascript:`, `data:`, relative) is its
//!   text followed by the target, as text;
//! - an image is never an image: it becomes a link to its URL (same rules), so that nothing is
//!   fetched when the answer is shown (no exfiltration through image URLs).

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag};

/// One node of a rendered answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MdNode {
    /// Text, shown as a text node.
    Text(String),
    /// An element from the fixed list of this module.
    El(MdEl),
    /// A fenced or indented code block (the page adds a copy button).
    Code {
        /// The info string's first word, if any (shown as a label, never as markup).
        lang: Option<String>,
        /// The code, verbatim.
        text: String,
    },
}

/// An element: a tag name from this module's list and checked attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdEl {
    /// The tag name (`p`, `em`, `a`, …), always one of [`ALLOWED_TAGS`].
    pub tag: &'static str,
    /// Attributes: `href` (checked), `rel`, `target`, `start`, `class`.
    pub attrs: Vec<(&'static str, String)>,
    /// The children.
    pub children: Vec<MdNode>,
}

/// Every tag name the tree may hold. None of them loads or runs anything.
pub const ALLOWED_TAGS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "ul",
    "ol",
    "li",
    "em",
    "strong",
    "del",
    "code",
    "a",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
    "div",
    "sup",
    "sub",
];

/// The link's target if it may be a link: `http:`, `https:` or `mailto:` (any case), without
/// control characters or spaces. Anything else (`javascript:`, `data:`, `vbscript:`, relative
/// paths, protocol-relative `//host`) is refused.
pub fn safe_href(url: &str) -> Option<String> {
    let url = url.trim();
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    let ok = ["http://", "https://"].iter().any(|p| lower.starts_with(p) && lower.len() > p.len())
        || (lower.starts_with("mailto:") && lower.len() > "mailto:".len());
    ok.then(|| url.to_owned())
}

enum Kind {
    Plain,
    CodeBlock(Option<String>),
    BadLink(String),
    Image(String),
}

struct Frame {
    el: MdEl,
    kind: Kind,
}

fn el(tag: &'static str) -> MdEl {
    MdEl { tag, attrs: Vec::new(), children: Vec::new() }
}

fn link(href: String, children: Vec<MdNode>) -> MdEl {
    MdEl {
        tag: "a",
        attrs: vec![("href", href), ("rel", "noopener noreferrer".into()), ("target", "_blank".into())],
        children,
    }
}

fn heading(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "h1",
        HeadingLevel::H2 => "h2",
        HeadingLevel::H3 => "h3",
        HeadingLevel::H4 => "h4",
        HeadingLevel::H5 => "h5",
        HeadingLevel::H6 => "h6",
    }
}

/// The text inside nodes, for code blocks and image descriptions.
pub fn plain_text(nodes: &[MdNode]) -> String {
    let mut out = String::new();
    for n in nodes {
        match n {
            MdNode::Text(t) => out.push_str(t),
            MdNode::El(e) => out.push_str(&plain_text(&e.children)),
            MdNode::Code { text, .. } => out.push_str(text),
        }
    }
    out
}

fn start(tag: Tag<'_>) -> Frame {
    let plain = |tag| Frame { el: el(tag), kind: Kind::Plain };
    match tag {
        Tag::Paragraph => plain("p"),
        Tag::Heading { level, .. } => plain(heading(level)),
        Tag::BlockQuote(_) => plain("blockquote"),
        Tag::CodeBlock(kind) => {
            let lang = match kind {
                CodeBlockKind::Fenced(info) => info.split_whitespace().next().map(str::to_owned),
                CodeBlockKind::Indented => None,
            };
            Frame { el: el("pre"), kind: Kind::CodeBlock(lang) }
        }
        Tag::List(Some(first)) => {
            let mut e = el("ol");
            if first != 1 {
                e.attrs.push(("start", first.to_string()));
            }
            Frame { el: e, kind: Kind::Plain }
        }
        Tag::List(None) => plain("ul"),
        Tag::Item => plain("li"),
        Tag::Emphasis => plain("em"),
        Tag::Strong => plain("strong"),
        Tag::Strikethrough => plain("del"),
        Tag::Superscript => plain("sup"),
        Tag::Subscript => plain("sub"),
        Tag::Link { dest_url, .. } => match safe_href(&dest_url) {
            Some(href) => Frame { el: link(href, Vec::new()), kind: Kind::Plain },
            None => Frame { el: el("span"), kind: Kind::BadLink(dest_url.into_string()) },
        },
        Tag::Image { dest_url, .. } => Frame { el: el("span"), kind: Kind::Image(dest_url.into_string()) },
        Tag::Table(_) => plain("table"),
        // The head's cells come straight inside it: they get their row when it ends.
        Tag::TableHead => plain("thead"),
        Tag::TableRow => plain("tr"),
        Tag::TableCell => plain("td"),
        // Raw HTML blocks hold `Html` events, which become text; the rest are plain boxes.
        Tag::HtmlBlock | Tag::FootnoteDefinition(_) | Tag::MetadataBlock(_) | Tag::DefinitionList => plain("div"),
        Tag::DefinitionListTitle | Tag::DefinitionListDefinition => plain("div"),
    }
}

fn finish(frame: Frame) -> MdNode {
    let Frame { mut el, kind } = frame;
    match kind {
        Kind::Plain => {
            if el.tag == "thead" {
                // pulldown-cmark puts header cells straight in the head: give them a row of th.
                let cells = std::mem::take(&mut el.children)
                    .into_iter()
                    .map(|c| match c {
                        MdNode::El(mut cell) if cell.tag == "td" => {
                            cell.tag = "th";
                            MdNode::El(cell)
                        }
                        other => other,
                    })
                    .collect();
                el.children = vec![MdNode::El(MdEl { tag: "tr", attrs: Vec::new(), children: cells })];
            }
            MdNode::El(el)
        }
        Kind::CodeBlock(lang) => MdNode::Code { lang, text: plain_text(&el.children) },
        Kind::BadLink(dest) => {
            el.children.push(MdNode::Text(format!(" ({dest})")));
            MdNode::El(el)
        }
        Kind::Image(dest) => {
            let alt = plain_text(&el.children);
            let label = if alt.trim().is_empty() { "image".to_owned() } else { format!("image: {alt}") };
            match safe_href(&dest) {
                Some(href) => {
                    let mut a = link(href, vec![MdNode::Text(label)]);
                    a.attrs.push(("class", "md-image-link".into()));
                    MdNode::El(a)
                }
                None => MdNode::Text(format!("{label} ({dest})")),
            }
        }
    }
}

/// Parses `text` as CommonMark (with tables, strikethrough and task lists) into safe nodes.
pub fn parse(text: &str) -> Vec<MdNode> {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut root: Vec<MdNode> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let push = |stack: &mut Vec<Frame>, root: &mut Vec<MdNode>, node: MdNode| match stack.last_mut() {
        Some(f) => f.el.children.push(node),
        None => root.push(node),
    };
    for event in Parser::new_ext(text, options) {
        match event {
            Event::Start(tag) => stack.push(start(tag)),
            Event::End(_) => {
                if let Some(frame) = stack.pop() {
                    let node = finish(frame);
                    push(&mut stack, &mut root, node);
                }
            }
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => {
                push(&mut stack, &mut root, MdNode::Text(t.into_string()))
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => push(&mut stack, &mut root, MdNode::Text(t.into_string())),
            Event::Code(t) => {
                let mut c = el("code");
                c.children.push(MdNode::Text(t.into_string()));
                push(&mut stack, &mut root, MdNode::El(c));
            }
            Event::FootnoteReference(t) => push(&mut stack, &mut root, MdNode::Text(format!("[^{t}]"))),
            Event::SoftBreak => push(&mut stack, &mut root, MdNode::Text("\n".into())),
            Event::HardBreak => push(&mut stack, &mut root, MdNode::El(el("br"))),
            Event::Rule => push(&mut stack, &mut root, MdNode::El(el("hr"))),
            Event::TaskListMarker(done) => {
                push(&mut stack, &mut root, MdNode::Text(if done { "[x] " } else { "[ ] " }.into()))
            }
        }
    }
    // Unbalanced input cannot happen with pulldown-cmark, but never lose text if it did.
    while let Some(frame) = stack.pop() {
        let node = finish(frame);
        push(&mut stack, &mut root, node);
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element of the tree, depth first.
    fn elements(nodes: &[MdNode]) -> Vec<&MdEl> {
        let mut out = Vec::new();
        for n in nodes {
            if let MdNode::El(e) = n {
                out.push(e);
                out.extend(elements(&e.children));
            }
        }
        out
    }

    /// No element outside the list, no attribute that loads or runs anything, every href safe.
    fn assert_inert(nodes: &[MdNode]) {
        for e in elements(nodes) {
            assert!(ALLOWED_TAGS.contains(&e.tag), "tag {}", e.tag);
            for (name, value) in &e.attrs {
                assert!(["href", "rel", "target", "start", "class"].contains(name), "attribute {name}");
                if *name == "href" {
                    assert_eq!(safe_href(value).as_deref(), Some(value.as_str()), "href {value}");
                }
            }
        }
    }

    #[test]
    fn raw_html_is_text() {
        let src = "Hi <img src=x onerror=alert(1)> there\n\n<script>alert(2)</script>\n\n<iframe src=\"http://evil/\"></iframe>";
        let nodes = parse(src);
        assert_inert(&nodes);
        let text = plain_text(&nodes);
        assert!(text.contains("<img src=x onerror=alert(1)>"), "{text}");
        assert!(text.contains("<script>alert(2)</script>"), "{text}");
        assert!(text.contains("<iframe src=\"http://evil/\">"), "{text}");
        assert!(elements(&nodes).iter().all(|e| !["img", "script", "iframe"].contains(&e.tag)));
    }

    #[test]
    fn images_become_links_never_images() {
        let nodes = parse("look ![x](http://evil/x.png) and ![y](javascript:alert(1))");
        assert_inert(&nodes);
        let links: Vec<_> = elements(&nodes).into_iter().filter(|e| e.tag == "a").collect();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].attrs[0], ("href", "http://evil/x.png".to_string()));
        assert_eq!(plain_text(&links[0].children), "image: x");
        assert!(plain_text(&nodes).contains("image: y (javascript:alert(1))"));
    }

    #[test]
    fn links_are_checked_and_open_safely() {
        let nodes = parse(
            "[a](javascript:alert(1)) [b](https://example.org/p?q=1) [c](mailto:x@y.z) [d](JaVaScRiPt:x) [e](data:text/html,hi) [f](/local)",
        );
        assert_inert(&nodes);
        let links: Vec<_> = elements(&nodes).into_iter().filter(|e| e.tag == "a").collect();
        let hrefs: Vec<_> = links.iter().map(|e| e.attrs[0].1.as_str()).collect();
        assert_eq!(hrefs, ["https://example.org/p?q=1", "mailto:x@y.z"]);
        for a in &links {
            assert!(a.attrs.contains(&("rel", "noopener noreferrer".into())));
            assert!(a.attrs.contains(&("target", "_blank".into())));
        }
        let text = plain_text(&nodes);
        assert!(text.contains("a (javascript:alert(1))"), "{text}");
        assert!(text.contains("d (JaVaScRiPt:x)"), "{text}");
    }

    #[test]
    fn safe_href_cases() {
        assert_eq!(safe_href(" https://a.b/c "), Some("https://a.b/c".into()));
        assert_eq!(safe_href("HTTP://A"), Some("HTTP://A".into()));
        for bad in
            ["javascript:alert(1)", "java\tscript:x", "http://", "//evil/x", "data:x", "vbscript:x", "https://a b"]
        {
            assert_eq!(safe_href(bad), None, "{bad}");
        }
    }

    #[test]
    fn markdown_structure_and_code_blocks() {
        let nodes = parse(
            "# Title\n\nSome **bold** and `code`.\n\n```rust\nfn main() { \"<b>\" }\n```\n\n1. one\n2. two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert_inert(&nodes);
        let tags: Vec<_> = elements(&nodes).iter().map(|e| e.tag).collect();
        for t in ["h1", "p", "strong", "code", "ol", "li", "table", "thead", "th", "td"] {
            assert!(tags.contains(&t), "{t} in {tags:?}");
        }
        let code: Vec<_> = nodes
            .iter()
            .filter_map(|n| match n {
                MdNode::Code { lang, text } => Some((lang.clone(), text.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(code, [(Some("rust".to_string()), "fn main() { \"<b>\" }\n".to_string())]);
    }

    #[test]
    fn plain_text_survives_unchanged() {
        let nodes = parse("Hello, world.");
        assert_eq!(
            nodes,
            [MdNode::El(MdEl { tag: "p", attrs: vec![], children: vec![MdNode::Text("Hello, world.".into())] })]
        );
    }
}
