# cmake -DINPUT=file -DOUTPUT=file.cpp -DSYMBOL=name -P embed_text.cmake
# Emits the file as hex bytes so that any content (quotes, NULs, non-ASCII) survives.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR byte_count "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," body "${hex}")
string(REGEX REPLACE "(('\\\\x[0-9a-f][0-9a-f]',){32})" "\\1\n" body "${body}")
file(WRITE "${OUTPUT}" "// Generated from ${INPUT}; do not edit.\n#include <string_view>\nnamespace moebench::embedded {\nnamespace {\nconstexpr char data_[] = {\n${body}'\\0'};\n}  // namespace\nextern const std::string_view ${SYMBOL};\nconst std::string_view ${SYMBOL}{data_, ${byte_count}};\n}  // namespace moebench::embedded\n")
