// Where tests find the repository and ../shared/models. Defined in test_paths.cpp, the only
// file compiled with the absolute paths, so the tests themselves stay cacheable across clones.
#pragma once

const char* ms_test_source_dir();
const char* ms_test_shared_models_dir();
