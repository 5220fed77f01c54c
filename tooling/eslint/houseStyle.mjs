// fedkit's house-style rules that no published plugin has (CONTRIBUTING.md, "House style"): checked by `lint`, so a
// point of the style cannot quietly regress.
import { posix, relative, sep } from "node:path"

// The JSDoc comment right before `node` (an `eslint-disable-next-line` directive may sit between the two).
const docOf = (sourceCode, node) =>
  sourceCode.getCommentsBefore(node).findLast((comment) => comment.type === "Block" && comment.value.startsWith("*"))
    ?.value

/** Every export of a published package's public module has a JSDoc comment with `@since <version>`. */
const since = {
  meta: {
    type: "suggestion",
    docs: { description: "every export of a published package says, with @since, in which version it first shipped" },
    messages: {
      missing:
        "This export has no JSDoc comment with `@since <version>`: say in which version of the package it first " +
        "shipped (the package's version if it is new)."
    },
    schema: []
  },
  create(context) {
    const check = (node) => {
      if (!/@since\s+\d/.test(docOf(context.sourceCode, node) ?? "")) context.report({ node, messageId: "missing" })
    }
    return {
      "Program > ExportNamedDeclaration": check,
      "Program > ExportAllDeclaration": check,
      "Program > ExportDefaultDeclaration": check
    }
  }
}

const directive = /^\s*eslint-(disable|disable-line|disable-next-line|enable)(?:\s+([^]*?))?\s*(?:--\s*([^]*?))?\s*$/

/**
 * Every `eslint-disable…` directive says why (`-- reason`), and a block that allows long functions
 * (`/* eslint-disable max-lines-per-function -- why *\/`) ends with `/* eslint-enable max-lines-per-function *\/`, so
 * the reason covers the functions it was written for and not every function added below them later.
 */
const disableSaysWhy = {
  meta: {
    type: "suggestion",
    docs: { description: "eslint-disable directives say why, and a disabled block of long functions is closed" },
    messages: {
      noReason: "Say why this rule does not apply here: `{{kind}} {{rules}} -- <why>`.",
      unclosed:
        "Close this block with `/* eslint-enable max-lines-per-function */` after the functions its reason is " +
        "about, or allow one function with `// eslint-disable-next-line max-lines-per-function -- <why>`."
    },
    schema: []
  },
  create(context) {
    return {
      Program() {
        let openLongFunctions
        for (const comment of context.sourceCode.getAllComments()) {
          const match = directive.exec(comment.value)
          if (match === null) continue
          const [, kind, rules = "", reason = ""] = match
          const longFunctions = rules.split(/[\s,]+/).includes("max-lines-per-function")
          if (kind === "enable") {
            if (longFunctions || rules.trim() === "") openLongFunctions = undefined
            continue
          }
          if (reason.trim().length === 0) {
            context.report({ loc: comment.loc, messageId: "noReason", data: { kind: `eslint-${kind}`, rules } })
          }
          if (kind === "disable" && (longFunctions || rules.trim() === "")) openLongFunctions ??= comment
        }
        if (openLongFunctions !== undefined) context.report({ loc: openLongFunctions.loc, messageId: "unclosed" })
      }
    }
  }
}

/** Test files are `test/**\/*.test.ts`; what they share is in `test/support/`, what they read in `test/fixtures/`. */
const testLayout = {
  meta: {
    type: "suggestion",
    docs: { description: "one test layout: test/**/*.test.ts, test/support/, test/fixtures/" },
    messages: {
      misplaced: "{{file}} is neither a test (`*.test.ts`) nor in test/support/ (helpers the tests share) or " +
        "test/fixtures/ (data and example files the tests read): move it to one of them."
    },
    schema: []
  },
  create(context) {
    return {
      Program(node) {
        const path = relative(context.cwd, context.filename).split(sep).join(posix.sep)
        const inTest = /(?:^|\/)test\/(.+)$/.exec(path)
        if (inTest === null) return
        const [first] = inTest[1].split("/")
        if (inTest[1].endsWith(".test.ts") || first === "support" || first === "fixtures") return
        context.report({ node, messageId: "misplaced", data: { file: `test/${inTest[1]}` } })
      }
    }
  }
}

export default {
  meta: { name: "fedkit-house-style" },
  rules: { since, "disable-says-why": disableSaysWhy, "test-layout": testLayout }
}
