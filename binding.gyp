{
  # The addon, from the one source list native/sources.json.
  #   tessera       build/Release/tessera.node: what `npm install` builds and
  #                 the package loads. No test hooks, whatever the environment.
  #   tessera_test  build/Release/tessera_test.node: the same sources with
  #                 TSR_TEST_HOOKS (testPeek, testAddress, ..., raw Cobblestone,
  #                 TSR_TEST_CPU_MASK). Only built when asked for with
  #                 `node-gyp rebuild --tessera_test_hooks=true` (scripts/test.mjs
  #                 does); only the test suites load it (test/test-build.cjs).
  "variables": {
    "tessera_test_hooks%": "false"
  },
  "target_defaults": {
    "sources": [
      "<!@(node -p \"const s=require('./native/sources.json');s.targets.addon.flatMap((g)=>s.groups[g]).join(' ')\")"
    ],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
    "cflags!": ["-fno-exceptions"],
    # target_defaults come before node-gyp's flags: drop its -std=gnu++17 so
    # that -std=c++17 stays the one in effect.
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "cflags": ["-O3", "-fno-strict-aliasing", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags_c": ["-std=gnu11"],
    "cflags_cc": ["-std=c++17", "-fexceptions"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CFLAGS": ["-O3"]
    }
  },
  "targets": [
    {
      "target_name": "tessera"
    }
  ],
  "conditions": [
    ["tessera_test_hooks=='true' or tessera_test_hooks=='1'", {
      "targets": [
        {
          "target_name": "tessera_test",
          "defines": ["TSR_TEST_HOOKS"]
        }
      ]
    }]
  ]
}
