// The security scanner's parser (lib/scan/parser.ts): tree-sitter's C runtime and the tree-sitter-python
// grammar, compiled into one WASM module by scripts/build_parser.ts.
//
// One call parses a UTF-16 source and flattens tree-sitter's visible nodes, in pre-order, into arrays
// (kind, parent, first child, next sibling, start, end, in UTF-16 code units), so JavaScript reads the tree
// from memory instead of walking it through a call per node. Kinds are the scanner's own numbers
// (lib/scan/tree.ts), given per grammar symbol by mp_set_kind before the first parse.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "tree_sitter/api.h"
// tree-sitter's internal headers (scripts/build_parser.ts adds its src/ to the include path), for the walk
// below. The runtime is pinned (SOURCES in scripts/build_parser.ts), and tests/scan/parser_test.ts compares
// every tree with web-tree-sitter's, so a runtime whose internals moved fails there, not in a scan.
#include "language.h"
#include "subtree.h"
#include "tree.h"

#define EXPORT(name) __attribute__((export_name(#name)))
#define MAX_ERRORS 20
#define SYMBOLS 65536

const TSLanguage *tree_sitter_python(void);

// From the host: milliseconds on a monotonic clock, for the parse deadline.
__attribute__((import_module("env"), import_name("now_ms"))) double now_ms(void);

// What mp_parse leaves for the host; the layout is read by lib/scan/parser.ts (RESULT_* offsets).
typedef struct {
  uint32_t count;
  uint32_t max_depth;
  uint32_t error_count;
  uint32_t capacity;
  uint8_t *kind;
  int32_t *parent;
  int32_t *first;
  int32_t *next;
  int32_t *start;
  int32_t *end;
  // Per error region: start, end, grammar symbol (the expected one for a missing node), 1 when missing.
  int32_t errors[4 * MAX_ERRORS];
} Result;

_Static_assert(offsetof(Result, kind) == 16, "lib/scan/parser.ts reads this layout");
_Static_assert(offsetof(Result, errors) == 40, "lib/scan/parser.ts reads this layout");

static TSParser *parser;
static Result result;
static uint8_t kinds[SYMBOLS];
// Kinds whose text is not covered by their children (string content, format specs, skipped input in
// ERROR nodes): their range is tree-sitter's own; every other parent spans its first to its last child.
static uint8_t exact_kind[256];
static double deadline;
// Per visible depth: the node there and its last child so far.
typedef struct {
  int32_t node;
  int32_t last;
} Level;
static Level *levels;
static uint32_t level_capacity;

EXPORT(mp_alloc) void *mp_alloc(uint32_t size) { return malloc(size); }
EXPORT(mp_free) void mp_free(void *pointer) { free(pointer); }
EXPORT(mp_result) Result *mp_result(void) { return &result; }
EXPORT(mp_symbol_count) uint32_t mp_symbol_count(void) { return ts_language_symbol_count(tree_sitter_python()); }
EXPORT(mp_error_symbol) uint32_t mp_error_symbol(void) { return (TSSymbol)-1; }

EXPORT(mp_symbol_name) const char *mp_symbol_name(uint32_t symbol) {
  return ts_language_symbol_name(tree_sitter_python(), (TSSymbol)symbol);
}

EXPORT(mp_symbol_named) int mp_symbol_named(uint32_t symbol) {
  return ts_language_symbol_type(tree_sitter_python(), (TSSymbol)symbol) == TSSymbolTypeRegular;
}

EXPORT(mp_set_kind) void mp_set_kind(uint32_t symbol, uint32_t kind, uint32_t exact) {
  kinds[symbol % SYMBOLS] = (uint8_t)kind;
  if (exact) exact_kind[kind % 256] = 1;
}

EXPORT(mp_init) int mp_init(void) {
  parser = ts_parser_new();
  return parser != NULL && ts_parser_set_language(parser, tree_sitter_python());
}

static int grow_nodes(void) {
  uint32_t capacity = result.capacity ? result.capacity * 2 : 4096;
  uint8_t *kind = realloc(result.kind, capacity);
  if (!kind) return 0;
  result.kind = kind;
  int32_t **arrays[] = {&result.parent, &result.first, &result.next, &result.start, &result.end};
  for (int i = 0; i < 5; i++) {
    int32_t *grown = realloc(*arrays[i], capacity * sizeof(int32_t));
    if (!grown) return 0;
    *arrays[i] = grown;
  }
  result.capacity = capacity;
  return 1;
}

// Makes room for element `index` of an array of `item`-byte elements (doubling it, from 256): the walk
// needs one more element at a time. Returns 0 when memory ran out.
static int reserve(void **array, uint32_t *capacity, size_t item, uint32_t index) {
  if (index < *capacity) return 1;
  uint32_t grown_capacity = *capacity ? *capacity * 2 : 256;
  void *grown = realloc(*array, grown_capacity * item);
  if (!grown) return 0;
  *array = grown;
  *capacity = grown_capacity;
  return 1;
}

// One subtree whose children the walk is going through. The walk reads tree-sitter's internal layout
// (subtree.h) directly: a TSTreeCursor re-derives each step from its stack, and walking with one was 14% of a
// parse's instructions (callgrind, native build, the benchmark's 2 MB tree); this walk is 5%.
typedef struct {
  const Subtree *children;
  uint32_t count;
  uint32_t index;
  // Children counted for aliases: extras (comments) are not.
  uint32_t structural;
  const TSSymbol *aliases;
  // The next child's start (after its padding), in bytes.
  uint32_t position;
  // The visible depth the children attach to; `owner` is 1 when this subtree is that visible node.
  uint32_t depth;
  int owner;
} Frame;

static Frame *frames;
static uint32_t frame_capacity;

// Appends a visible node at this depth, linked to its parent and previous sibling (as a cursor visits it).
static int visit(TSSymbol symbol, uint32_t start, uint32_t end, uint32_t depth) {
  if (result.count == result.capacity && !grow_nodes()) return 0;
  if (!reserve((void **)&levels, &level_capacity, sizeof(Level), depth)) return 0;
  int32_t i = (int32_t)result.count++;
  result.kind[i] = kinds[symbol];
  result.first[i] = -1;
  result.next[i] = -1;
  // Offsets are in UTF-16 code units: the source is UTF-16, tree-sitter counts bytes.
  result.start[i] = (int32_t)(start / 2);
  result.end[i] = (int32_t)(end / 2);
  if (depth > 0) {
    Level *up = &levels[depth - 1];
    result.parent[i] = up->node;
    if (up->last < 0) result.first[up->node] = i;
    else result.next[up->last] = i;
    up->last = i;
  } else {
    result.parent[i] = -1;
  }
  levels[depth] = (Level){.node = i, .last = -1};
  if (depth > result.max_depth) result.max_depth = depth;
  return 1;
}

static int push_children(Subtree subtree, const TSLanguage *language, uint32_t position, uint32_t depth,
                         int owner, uint32_t *size) {
  if (!reserve((void **)&frames, &frame_capacity, sizeof(Frame), *size)) return 0;
  frames[(*size)++] = (Frame){
      .children = ts_subtree_children(subtree),
      .count = subtree.ptr->child_count,
      .aliases = ts_language_alias_sequence(language, subtree.ptr->production_id),
      .position = position,
      .depth = depth,
      .owner = owner,
  };
  return 1;
}

// The symbol a TSNode reports (ts_node_symbol): ERROR has no entry in the map.
static inline TSSymbol public_symbol(const TSLanguage *language, TSSymbol symbol) {
  return symbol == ts_builtin_sym_error ? symbol : language->public_symbol_map[symbol];
}

// A visible node's children are done: a node that got none keeps its own range (a leaf), and every other
// parent but the exact kinds spans its first to its last child.
static void close_node(uint32_t depth) {
  Level level = levels[depth];
  if (level.last >= 0 && !exact_kind[result.kind[level.node]]) {
    result.start[level.node] = result.start[result.first[level.node]];
    result.end[level.node] = result.end[level.last];
  }
}

// Pre-order over the visible nodes, as a TSTreeCursor goes: a hidden subtree's visible descendants become
// children of its visible ancestor, and a hidden subtree without any is skipped. Returns 0 when memory ran out.
static int flatten(const TSTree *tree) {
  const TSLanguage *language = tree->language;
  Subtree root = tree->root;
  uint32_t start = ts_subtree_padding(root).bytes;
  if (!visit(public_symbol(language, ts_subtree_symbol(root)), start, start + ts_subtree_size(root).bytes, 0)) {
    return 0;
  }
  uint32_t size = 0;
  if (ts_subtree_child_count(root) > 0 && !push_children(root, language, start, 0, 1, &size)) return 0;
  while (size > 0) {
    Frame *frame = &frames[size - 1];
    if (frame->index == frame->count) {
      if (frame->owner) close_node(frame->depth);
      size--;
      continue;
    }
    Subtree child = frame->children[frame->index++];
    uint32_t child_start = frame->position;
    uint32_t child_end = child_start + ts_subtree_size(child).bytes;
    if (frame->index < frame->count) {
      frame->position = child_end + ts_subtree_padding(frame->children[frame->index]).bytes;
    }
    TSSymbol alias = 0;
    if (!ts_subtree_extra(child)) {
      if (frame->aliases) alias = frame->aliases[frame->structural];
      frame->structural++;
    }
    uint32_t depth = frame->depth;
    if (ts_subtree_visible(child) || alias) {
      TSSymbol symbol = public_symbol(language, alias ? alias : ts_subtree_symbol(child));
      if (!visit(symbol, child_start, child_end, depth + 1)) return 0;
      // `frame` may move when the frames grow: it is not used past here.
      if (ts_subtree_child_count(child) > 0 && !push_children(child, language, child_start, depth + 1, 1, &size)) {
        return 0;
      }
    } else if (ts_subtree_visible_child_count(child) > 0) {
      if (!push_children(child, language, child_start, depth, 0, &size)) return 0;
    }
  }
  return 1;
}

// The module spans the whole source (tree-sitter's starts at its first token).
static void whole_source(uint32_t length) {
  result.start[0] = 0;
  result.end[0] = (int32_t)length;
}

// The first MAX_ERRORS error regions and missing tokens, in pre-order, one per ERROR node (not its inside).
static void collect_errors(TSNode root) {
  TSTreeCursor cursor = ts_tree_cursor_new(root);
  for (;;) {
    TSNode node = ts_tree_cursor_current_node(&cursor);
    int is_error = ts_node_is_error(node);
    if (is_error || ts_node_is_missing(node)) {
      int32_t *error = &result.errors[4 * result.error_count++];
      error[0] = (int32_t)(ts_node_start_byte(node) / 2);
      error[1] = (int32_t)(ts_node_end_byte(node) / 2);
      error[2] = ts_node_symbol(node);
      error[3] = !is_error;
      if (result.error_count >= MAX_ERRORS) break;
      if (is_error) {
        while (!ts_tree_cursor_goto_next_sibling(&cursor)) {
          if (!ts_tree_cursor_goto_parent(&cursor)) goto done;
        }
        continue;
      }
    }
    if (ts_tree_cursor_goto_first_child(&cursor)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&cursor)) {
      if (!ts_tree_cursor_goto_parent(&cursor)) goto done;
    }
  }
done:
  ts_tree_cursor_delete(&cursor);
}

typedef struct {
  const char *bytes;
  uint32_t length;
} Source;

static const char *read_source(void *payload, uint32_t byte, TSPoint point, uint32_t *bytes_read) {
  (void)point;
  Source *source = payload;
  if (byte >= source->length) {
    *bytes_read = 0;
    return "";
  }
  *bytes_read = source->length - byte;
  return source->bytes + byte;
}

static bool past_deadline(TSParseState *state) {
  (void)state;
  return now_ms() > deadline;
}

// Parses `units` UTF-16LE code units at `text` (the host's string, as web-tree-sitter passes it: tree-sitter's
// error recovery weighs skipped input by its size in bytes, so the encoding is part of the result). Returns 1
// with the result filled in, 0 when parsing passed the time limit, -1 when memory ran out.
EXPORT(mp_parse) int mp_parse(const uint16_t *text, uint32_t units, double time_limit_ms) {
  result.count = 0;
  result.max_depth = 0;
  result.error_count = 0;
  deadline = now_ms() + time_limit_ms;
  Source source = {.bytes = (const char *)text, .length = units * 2};
  TSInput input = {.payload = &source, .read = read_source, .encoding = TSInputEncodingUTF16LE, .decode = NULL};
  TSParseOptions options = {.payload = NULL, .progress_callback = past_deadline};
  TSTree *tree = ts_parser_parse_with_options(parser, NULL, input, options);
  if (!tree) {
    ts_parser_reset(parser);
    return 0;
  }
  TSNode root = ts_tree_root_node(tree);
  int ok = flatten(tree);
  if (ok) whole_source(units);
  if (ok && ts_node_has_error(root)) collect_errors(root);
  ts_tree_delete(tree);
  return ok ? 1 : -1;
}
