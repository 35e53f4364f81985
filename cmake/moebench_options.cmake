# Warning and build options scoped to moebench's own targets; no global flag mutation.
function(moebench_target_options target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual
    # GCC 12 reports false -Wrestrict positives inside libstdc++ string concatenation at -O3.
    $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
  if(MOEBENCH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Embeds a text file into a generated C++ source as a std::string_view named `symbol`
# inside namespace moebench::embedded. The file is re-embedded when it changes.
function(moebench_embed_text target input symbol)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DOUTPUT=${out} -DSYMBOL=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    DEPENDS ${input} ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    COMMENT "Embedding ${input}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
