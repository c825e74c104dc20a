//! What `src/` defines, read without a Rust parser, so that a lesson's code names can be looked up.
//!
//! [`SourceIndex::load`] reads every `.rs` file under `src/` and notes two things: the items at
//! the top level of each file (functions, types, constants, modules, ...), and the members of
//! each type (the methods and constants of its `impl` blocks, an enum's variants, a struct's
//! fields). [`SourceIndex::resolve`] then says whether a name like `jail::resolve` or
//! `Perm::letter` is among them.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What the code of `src/` defines, read the way rustfmt lays it out: items start in column 0,
/// and the members of an `impl`, `struct`, `enum` or `trait` block are indented by four spaces
/// (so anything in a `mod tests` block, or inside a function body, is not an item).
pub struct SourceIndex {
    /// Each module's path (`["server", "jail"]`; the crate root is `[]`) and the names of the
    /// items defined at its top level.
    modules: Vec<(Vec<String>, HashSet<String>)>,
    /// A type's members: the methods and associated constants of every `impl` block for it
    /// anywhere in `src/`, its variants (an enum) or its fields (a struct).
    members: HashMap<String, HashSet<String>>,
}

/// The name at the start of `text`: letters, digits and underscores.
pub fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// `pub `, `pub(crate) `, `pub(super) ` and `pub(in …) ` taken off the front.
fn without_visibility(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("pub") else {
        return text;
    };
    if let Some(rest) = rest.strip_prefix(' ') {
        return rest;
    }
    match rest.strip_prefix('(').and_then(|r| r.split_once(") ")) {
        Some((_, after)) => after,
        None => text,
    }
}

/// The name an item line defines, and whether it opens a block of members:
/// `pub fn parse(` → `parse`; `pub enum Perm {` → `Perm`.
fn item_name(line: &str) -> Option<&str> {
    let mut rest = without_visibility(line);
    for qualifier in ["const fn ", "async fn ", "unsafe fn "] {
        if let Some(after) = rest.strip_prefix(qualifier) {
            rest = after;
            return Some(ident(rest)).filter(|name| !name.is_empty());
        }
    }
    for keyword in [
        "fn ", "struct ", "enum ", "trait ", "const ", "static ", "type ", "mod ", "union ",
    ] {
        if let Some(after) = rest.strip_prefix(keyword) {
            let after = after.strip_prefix("mut ").unwrap_or(after);
            return Some(ident(after)).filter(|name| !name.is_empty());
        }
    }
    None
}

/// The type an `impl` header is for: `impl fmt::Display for ReplyCode` → `ReplyCode`.
fn impl_target(header: &str) -> String {
    let mut text = header.trim_start_matches("impl").trim();
    // Generic parameters right after `impl`: `impl<'a, T: X<Y>>`.
    if text.starts_with('<') {
        let mut depth = 0;
        for (i, c) in text.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        text = text[i + 1..].trim_start();
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    let text = text.split(" where").next().unwrap_or(text);
    let text = text.trim_end_matches('{').trim();
    let target = match text.rsplit_once(" for ") {
        Some((_, target)) => target,
        None => text,
    };
    let path = target.split('<').next().unwrap_or(target).trim();
    path.rsplit("::").next().unwrap_or(path).to_string()
}

/// What kind of block a column-0 line opened.
enum Block {
    /// `impl`, `trait`: members are methods and constants.
    Impl(String),
    /// `enum`: members are variants.
    Enum(String),
    /// `struct`: members are fields.
    Struct(String),
    /// Anything else (`mod tests`, a function body, a `const` table).
    Other,
}

impl SourceIndex {
    /// Read every `.rs` file under `src` (a module per file, named by its path).
    pub fn load(src: &Path) -> SourceIndex {
        let mut index = SourceIndex {
            modules: Vec::new(),
            members: HashMap::new(),
        };
        let mut files = Vec::new();
        collect_rs_files(src, &mut files);
        for file in files {
            let relative = file.strip_prefix(src).unwrap().with_extension("");
            let mut module: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("lib" | "mod" | "main")
            ) {
                module.pop();
            }
            let text = fs::read_to_string(&file).unwrap();
            let items = index.read_items(&text);
            index.modules.push((module, items));
        }
        index
    }

    /// The top-level items of one file; the members of its blocks go into `self.members`.
    fn read_items(&mut self, text: &str) -> HashSet<String> {
        let mut items = HashSet::new();
        let mut block: Option<Block> = None;
        let mut header: Option<String> = None;
        for line in text.lines() {
            // An `impl` header that rustfmt wrapped: gather it up to its `{`.
            if let Some(so_far) = header.as_mut() {
                so_far.push(' ');
                so_far.push_str(line.trim());
                if line.trim_end().ends_with('{') {
                    block = Some(Block::Impl(impl_target(so_far)));
                    header = None;
                }
                continue;
            }
            if line == "}" {
                block = None;
                continue;
            }
            if let Some(open) = &block {
                if let Some(member) = line.strip_prefix("    ") {
                    self.read_member(open, member);
                }
                continue;
            }
            if line.starts_with(' ') || line.is_empty() {
                continue;
            }
            if line.starts_with("impl") {
                if line.trim_end().ends_with('{') {
                    block = Some(Block::Impl(impl_target(line)));
                } else if !line.trim_end().ends_with(';') && !line.trim_end().ends_with("{}") {
                    // (`impl Error for E {}` is whole on its line.)
                    header = Some(line.to_string());
                }
                continue;
            }
            let Some(name) = item_name(line) else {
                continue;
            };
            items.insert(name.to_string());
            if line.trim_end().ends_with('{') {
                let kind = without_visibility(line);
                block = Some(if kind.starts_with("enum ") {
                    Block::Enum(name.to_string())
                } else if kind.starts_with("struct ") {
                    Block::Struct(name.to_string())
                } else if kind.starts_with("trait ") {
                    Block::Impl(name.to_string())
                } else {
                    Block::Other
                });
            }
        }
        items
    }

    /// One line four spaces into a block: a method, constant, variant or field.
    fn read_member(&mut self, block: &Block, line: &str) {
        if line.starts_with([' ', '/', '#', '}']) || line.is_empty() {
            return;
        }
        let (owner, name) = match block {
            Block::Impl(owner) => (owner, item_name(line)),
            Block::Enum(owner) => {
                let name = ident(line);
                let is_variant = name.starts_with(|c: char| c.is_ascii_uppercase());
                (owner, Some(name).filter(|_| is_variant))
            }
            Block::Struct(owner) => {
                let rest = without_visibility(line);
                let name = ident(rest);
                let is_field = rest[name.len()..].starts_with(':') && !name.is_empty();
                (owner, Some(name).filter(|_| is_field))
            }
            Block::Other => return,
        };
        if let Some(name) = name {
            self.members
                .entry(owner.clone())
                .or_default()
                .insert(name.to_string());
        }
    }

    /// Find a code name in `src/`.
    ///
    /// The longest run of leading segments that names a module is the module (a module may be
    /// named by the end of its path: `jail` is `server::jail`, `commands::info` is
    /// `server::commands::info`); what follows must be defined in it: an item (`jail::resolve`),
    /// or a type and one of its members (`registry::Registry::admit`, `command::Command::Pwd`).
    /// A path that starts with no module (`Perm::letter`, `parse()`) may be defined in any
    /// module. A member is a method or constant of any `impl` block for the type, in any file,
    /// a variant of the enum, or a field of the struct. A `crate::` or `localftp::` in front is
    /// ignored.
    pub fn resolve(&self, code_name: &str) -> Result<(), String> {
        let path = code_name.strip_suffix("()").unwrap_or(code_name);
        let mut segments: Vec<&str> = path.split("::").collect();
        if matches!(segments.first(), Some(&("crate" | "localftp"))) {
            segments.remove(0);
        }
        if segments.is_empty() {
            return Err("an empty path".into());
        }
        for split in (1..=segments.len()).rev() {
            let (module, rest) = segments.split_at(split);
            let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
            let candidates: Vec<_> = self
                .modules
                .iter()
                .filter(|(path, _)| path.ends_with(&module))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            if rest.is_empty()
                || candidates
                    .iter()
                    .any(|(_, items)| self.defines(items, rest))
            {
                return Ok(());
            }
            return Err(self.why_missing(&candidates, rest, &module.join("::")));
        }
        let everywhere: Vec<_> = self.modules.iter().collect();
        if everywhere
            .iter()
            .any(|(_, items)| self.defines(items, &segments))
        {
            Ok(())
        } else {
            Err(self.why_missing(&everywhere, &segments, "src/"))
        }
    }

    /// The sentence for a name that [`SourceIndex::resolve`] did not find in `modules`.
    fn why_missing(
        &self,
        modules: &[&(Vec<String>, HashSet<String>)],
        rest: &[&str],
        place: &str,
    ) -> String {
        match rest {
            [owner, member] if modules.iter().any(|(_, items)| items.contains(*owner)) => {
                format!("`{owner}` has no method, constant, variant or field `{member}`")
            }
            _ => format!("`{place}` does not define `{}`", rest.join("::")),
        }
    }

    /// Whether a module with `items` defines `rest`: an item, or an item and its member.
    fn defines(&self, items: &HashSet<String>, rest: &[&str]) -> bool {
        match rest {
            [item] => items.contains(*item),
            [owner, member] => {
                items.contains(*owner)
                    && self
                        .members
                        .get(*owner)
                        .is_some_and(|members| members.contains(*member))
            }
            _ => false,
        }
    }
}

fn collect_rs_files(folder: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}
