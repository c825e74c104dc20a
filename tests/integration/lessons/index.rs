//! What `src/` defines, read without a Rust parser, so that a lesson's code names can be looked up.
//!
//! [`SourceIndex::load`] reads every `.rs` file under `src/` and notes two things: the items at
//! the top level of each file (functions, types, constants, modules, ...), and the members of
//! each type (the methods and constants of its `impl` blocks, an enum's variants, a struct's
//! fields). [`SourceIndex::resolve`] then says whether a name like `jail::resolve` or
//! `Perm::letter` is among them.
//!
//! It reads the files line by line, with [`super::scanner`] counting the open brackets and
//! skipping strings, characters and comments. What it assumes of the code:
//!
//! - An item starts a line at nesting depth 0, and a member starts a line one `{` deep inside an
//!   `impl`, `trait`, `enum` or `struct` block. Indentation and where the closing `}` sits do not
//!   matter, but an item that shares its line with another item, or a block whose members are
//!   on its opening line (`struct P { x: u8 }`), is read only in part. rustfmt's layout never
//!   does either.
//! - Anything inside a function body or an inline module (`mod tests { ... }`) is not an item a
//!   lesson can name: only a file's own top level counts, as a module.
//! - Items made by macros, and `impl` blocks written inside functions, are not seen.
//! - A type is known by its last name alone (`Config`, not `server::Config`): the members of
//!   every `impl Config` in any file are put together.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::scanner::{Event, Scanner};

/// What the code of `src/` defines.
#[derive(Default)]
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

/// The name an item line defines: `pub fn parse(` → `parse`; `pub enum Perm {` → `Perm`.
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

/// Whether a line starts an `impl` block: `impl Foo {`, `impl<T> fmt::Display for Bar<T>`,
/// `unsafe impl Send for Baz {}`.
fn is_impl(line: &str) -> bool {
    let line = line.strip_prefix("unsafe ").unwrap_or(line);
    line.strip_prefix("impl")
        .is_some_and(|rest| rest.starts_with([' ', '<']))
}

/// The type an `impl` header is for: `impl fmt::Display for ReplyCode` → `ReplyCode`.
fn impl_target(header: &str) -> String {
    let header = header.strip_prefix("unsafe ").unwrap_or(header);
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

/// What kind of block a `{` at depth 0 opened.
enum Block {
    /// `impl`, `trait`: members are methods and constants.
    Impl(String),
    /// `enum`: members are variants.
    Enum(String),
    /// `struct`: members are fields.
    Struct(String),
    /// Anything else (`mod tests`, a function body, a `const` table, a `use` list).
    Other,
}

impl Block {
    /// The block an item's header opens (the header's text up to its `{`, maybe over lines).
    fn of(header: &str) -> Block {
        let header = header.split('{').next().unwrap_or(header).trim();
        if is_impl(header) {
            return Block::Impl(impl_target(header));
        }
        let Some(name) = item_name(header).map(str::to_string) else {
            return Block::Other;
        };
        let kind = without_visibility(header);
        if kind.starts_with("enum ") {
            Block::Enum(name)
        } else if kind.starts_with("struct ") {
            Block::Struct(name)
        } else if kind.starts_with("trait ") {
            Block::Impl(name)
        } else {
            Block::Other
        }
    }
}

impl SourceIndex {
    /// Read every `.rs` file under `src` (a module per file, named by its path).
    pub fn load(src: &Path) -> SourceIndex {
        let mut index = SourceIndex::default();
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
            index.add(module, &fs::read_to_string(&file).unwrap());
        }
        index
    }

    /// Add one file's `text` as the module `module` (`["server", "jail"]`).
    pub fn add(&mut self, module: Vec<String>, text: &str) {
        let items = self.read_items(text);
        self.modules.push((module, items));
    }

    /// The top-level items of one file; the members of its blocks go into `self.members`.
    fn read_items(&mut self, text: &str) -> HashSet<String> {
        let mut items = HashSet::new();
        let mut scanner = Scanner::default();
        // The item being read at depth 0, from its first line up to its `{` or `;`.
        let mut header = String::new();
        let mut block: Option<Block> = None;
        for line in text.lines() {
            let code = line.trim();
            let is_code = scanner.in_code() && !code.is_empty() && !code.starts_with(['/', '#']);
            match (is_code, scanner.depth) {
                (true, 0) => {
                    let name = item_name(code);
                    if let Some(name) = name {
                        items.insert(name.to_string());
                    }
                    if name.is_some() || is_impl(code) {
                        header = code.to_string();
                    } else if !header.is_empty() {
                        // A header rustfmt wrapped: `impl<T> X for Y<T>` / `where` / `T: Z,`.
                        header.push(' ');
                        header.push_str(code);
                    }
                }
                (true, 1) => {
                    if let Some(open) = &block {
                        self.read_member(open, code);
                    }
                }
                _ => {}
            }
            for event in scanner.scan(line) {
                match event {
                    Event::Open => block = Some(Block::of(&header)),
                    Event::Close => block = None,
                    Event::End => {}
                }
                // A `{`, `}` or `;` at depth 0 is where an item's header ends.
                header.clear();
            }
        }
        items
    }

    /// One line starting one `{` deep in a block: a method, constant, variant or field.
    fn read_member(&mut self, block: &Block, line: &str) {
        if line.starts_with('}') {
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
