// Shared ESLint flat config for fedkit, modelled on the Effect repository's: typescript-eslint for correctness,
// @effect/eslint-plugin's dprint rule for formatting (the dprint CLI cannot fetch its plugins on our machines).
import effect from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"
import houseStyle from "./houseStyle.mjs"

const effectBarrel = {
  name: "effect",
  message: "Import Effect's modules one by one: import * as Effect from \"effect/Effect\"."
}

export default tseslint.config(
  {
    ignores: ["**/dist/**", "**/node_modules/**", "**/.turbo/**", "**/.venv-flare/**"]
  },
  ...tseslint.configs.recommended,
  ...effect.configs.dprint,
  {
    files: ["**/*.ts", "**/*.mjs", "**/*.cjs"],
    plugins: { "@effect": effect },
    rules: {
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }]
    }
  },
  {
    // CommonJS files (the bin launchers and loader) load with require(), which is what they are for
    files: ["**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" }
  },
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/array-type": ["error", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-namespace": "off",
      "no-console": "error",
      "no-restricted-syntax": ["error", {
        selector: "ThrowStatement",
        message: "Effect code fails with typed errors (Effect.fail / yield* new XError) instead of throw."
      }, {
        selector: "MemberExpression[object.name='Data'][property.name=/^(TaggedError|Error)$/]",
        message: "One error dialect: errors are Schema.TaggedError (from \"effect/Schema\"), not Data.TaggedError."
      }, {
        selector:
          "ImportDeclaration[source.value='effect/Data'] ImportSpecifier[imported.name=/^(TaggedError|Error)$/]",
        message: "One error dialect: errors are Schema.TaggedError (from \"effect/Schema\"), not Data.TaggedError."
      }]
    }
  },
  {
    files: ["**/*.ts", "**/*.mjs"],
    plugins: { fedkit: houseStyle },
    rules: {
      "fedkit/disable-says-why": "error",
      "fedkit/test-layout": "error"
    }
  },
  {
    // The published packages (apps/ and tooling/ are private): the public modules, not src/internal/.
    files: ["packages/*/src/**/*.ts"],
    ignores: ["packages/*/src/internal/**"],
    rules: { "fedkit/since": "error" }
  },
  {
    // A longer function says why it must be one, in the directive that allows it.
    files: ["**/src/**/*.ts"],
    rules: {
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }]
    }
  },
  {
    // Effect's modules one by one, as the Effect repository does: bundled bins stay small (fedkit-dal: 1.1 MB, against
    // 1.85 MB through the "effect" barrel). README examples keep the user style, `import { Effect } from "effect"`.
    files: ["**/*.ts"],
    ignores: ["**/readme*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [effectBarrel] }]
    }
  },
  {
    // In sources the @effect packages' modules are imported one by one too (tests may use their barrels).
    files: ["**/src/**/*.ts"],
    ignores: ["**/readme*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: [
          effectBarrel,
          ...Object.entries({
            "@effect/cli": "Command",
            "@effect/platform": "FileSystem",
            "@effect/platform-node": "NodeContext"
          }).map(([name, module]) => ({
            name,
            message:
              `Import ${name}'s modules one by one, as for effect: import * as ${module} from "${name}/${module}".`
          }))
        ]
      }]
    }
  },
  {
    // README examples are a user's programs, and those print.
    files: ["**/readme*.ts"],
    rules: {
      "no-console": "off"
    }
  },
  {
    files: ["**/test/**/*.ts", "**/bench/**/*.ts"],
    rules: {
      "no-restricted-syntax": "off"
    }
  }
)
