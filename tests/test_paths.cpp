#include "test_paths.h"

const char* ms_test_source_dir() {
    return MS_SOURCE_DIR_PATH;
}
const char* ms_test_shared_models_dir() {
    return MS_SHARED_MODELS_PATH;
}
