/* PNG files, Base64, the viridis colour map and heat maps (see include/sigloop/image.h), with no
 * compression library.
 *
 * PNG (W3C Portable Network Graphics Specification, second edition = ISO/IEC 15948:2004): the
 * 8-byte signature, then chunks, each a 4-byte big-endian data length, a 4-byte type, the data and
 * a CRC-32 of type and data (ISO-HDLC CRC: reflected polynomial 0xEDB88320, initial value and
 * final xor 0xFFFFFFFF, spec Annex D). We write IHDR (width, height, bit depth 8, colour type 2 =
 * RGB, compression 0, filter 0, interlace 0), one IDAT and IEND. The image data is the scanlines
 * top to bottom, each prefixed by its filter type byte, here always 0 (None), compressed as a
 * zlib stream (RFC 1950: header 0x78 0x01 = deflate with a 32 KiB window and the "fastest" level
 * flag, then deflate data, then the Adler-32 of the uncompressed bytes, big-endian).
 *
 * The deflate data (RFC 1951) is made only of stored blocks (section 3.2.4): a header byte holding
 * BFINAL in bit 0 and BTYPE = 00 (the rest of the byte is padding to the byte boundary), then LEN
 * and NLEN = ~LEN as little-endian 16-bit numbers and LEN literal bytes, LEN <= 65535. Every
 * decoder must accept them, so no compressor is needed; the price is a file as large as the raw
 * scanlines plus 5 bytes per 64 KiB. The scanlines are copied straight from the caller's pixels
 * into the output, which is allocated once at its exact final size.
 *
 * The CRC table is built on the stack per call (no global mutable state). Base64 follows RFC 4648
 * section 4. The viridis table is matplotlib's (_cm_listed.py, 256 entries, by van der Walt and
 * Smith), interpolated linearly and rounded to 8 bits. */
#include "sigloop/image.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STORED_MAX 65535u /* the largest LEN of a stored block */

/* ---- CRC-32 and Adler-32 ---- */

static void crc32_table(uint32_t t[256])
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[n] = c;
    }
}

static uint32_t crc32_of(const uint32_t t[256], const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* RFC 1950 section 8.2, with the sums reduced every 5552 bytes (the most before s2 can overflow
 * 32 bits, as in zlib). a holds s1 in the low and s2 in the high 16 bits. */
static uint32_t adler32_update(uint32_t a, const uint8_t *p, size_t n)
{
    uint32_t s1 = a & 0xFFFF, s2 = a >> 16;
    while (n > 0) {
        size_t k = n < 5552 ? n : 5552;
        n -= k;
        while (k--) {
            s1 += *p++;
            s2 += s1;
        }
        s1 %= 65521u;
        s2 %= 65521u;
    }
    return s2 << 16 | s1;
}

static uint8_t *put32(uint8_t *p, uint32_t v) /* big-endian */
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* Closes the chunk whose length field starts at c and whose data ends at end: fills in the length
 * and appends the CRC of type and data. Returns the end of the chunk. */
static uint8_t *end_chunk(const uint32_t crc[256], uint8_t *c, uint8_t *end)
{
    size_t data_len = (size_t)(end - c) - 8;
    put32(c, (uint32_t)data_len);
    return put32(end, crc32_of(crc, c + 4, data_len + 4));
}

/* ---- PNG ---- */

sl_status sl_png_encode_rgb(const uint8_t *rgb, size_t width, size_t height, uint8_t **out, size_t *len)
{
    if (out) *out = NULL;
    if (len) *len = 0;
    if (!out || !len) return sl_fail(SL_EARG, "png: no place for the result");
    if (width < 1 || width > SL_PNG_MAX_SIDE || height < 1 || height > SL_PNG_MAX_SIDE)
        return sl_fail(SL_EARG, "png: image is %zu x %zu pixels; width and height must be in [1, %d]", width,
                       height, SL_PNG_MAX_SIDE);
    if (!rgb) return sl_fail(SL_EARG, "png: no pixels");

    /* At most 16384 * (1 + 3 * 16384) = 805 322 752 bytes of scanlines: no overflow in size_t
     * (even 32-bit) nor in the 31-bit chunk length of PNG. */
    const size_t row = 3 * width, stride = 1 + row, raw = height * stride;
    const size_t n_blocks = (raw + STORED_MAX - 1) / STORED_MAX;
    const size_t zlen = 2 + 5 * n_blocks + raw + 4;
    const size_t total = 8 + (12 + 13) + (12 + zlen) + 12;
    uint8_t *buf = malloc(total);
    if (!buf) return sl_fail(SL_ENOMEM, "png: out of memory (%zu bytes for a %zu x %zu image)", total, width, height);

    uint32_t crc[256];
    crc32_table(crc);
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t *p = buf, *c;
    memcpy(p, signature, 8);
    p += 8;

    c = p; /* IHDR */
    memcpy(p + 4, "IHDR", 4);
    p = put32(p + 8, (uint32_t)width);
    p = put32(p, (uint32_t)height);
    *p++ = 8; /* bit depth */
    *p++ = 2; /* colour type: truecolour (RGB) */
    *p++ = 0; /* compression method: deflate */
    *p++ = 0; /* filter method: adaptive, five types (we use type 0 only) */
    *p++ = 0; /* no interlace */
    p = end_chunk(crc, c, p);

    c = p; /* IDAT: the zlib stream */
    memcpy(p + 4, "IDAT", 4);
    p += 8;
    *p++ = 0x78; /* CM = 8 (deflate), CINFO = 7 (32 KiB window) */
    *p++ = 0x01; /* FLEVEL = 0, no dictionary, FCHECK so that 0x7801 is a multiple of 31 */
    uint32_t adler = 1;
    size_t y = 0, x = 0; /* the next byte of the scanlines: row y, byte x of its stride */
    for (size_t left = raw; left > 0;) {
        size_t n = left < STORED_MAX ? left : STORED_MAX;
        left -= n;
        *p++ = (uint8_t)(left == 0); /* BFINAL, BTYPE = 00 */
        p[0] = (uint8_t)n;
        p[1] = (uint8_t)(n >> 8);
        p[2] = (uint8_t)~n;
        p[3] = (uint8_t)(~n >> 8);
        p += 4;
        uint8_t *block = p;
        while (n > 0) {
            if (x == 0) { /* the filter byte: None */
                *p++ = 0;
                n--;
                x = 1;
                continue;
            }
            size_t k = stride - x < n ? stride - x : n;
            memcpy(p, rgb + y * row + (x - 1), k);
            p += k;
            n -= k;
            x += k;
            if (x == stride) {
                x = 0;
                y++;
            }
        }
        adler = adler32_update(adler, block, (size_t)(p - block));
    }
    p = put32(p, adler);
    p = end_chunk(crc, c, p);

    c = p; /* IEND */
    memcpy(p + 4, "IEND", 4);
    p = end_chunk(crc, c, p + 8);

    const size_t written = (size_t)(p - buf);
    if (written != total) {
        free(buf);
        return sl_fail(SL_EINTERNAL, "png: wrote %zu bytes, expected %zu", written, total);
    }
    *out = buf;
    *len = total;
    return SL_OK;
}

/* ---- Base64 ---- */

sl_status sl_base64(const uint8_t *in, size_t len, char **out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!out) return sl_fail(SL_EARG, "base64: no place for the result");
    *out = NULL;
    if (!in && len > 0) return sl_fail(SL_EARG, "base64: no input");
    if (len > (SIZE_MAX / 4 - 1) * 3) return sl_fail(SL_EARG, "base64: input of %zu bytes is too long", len);
    size_t n = 4 * ((len + 2) / 3);
    char *s = malloc(n + 1);
    if (!s) return sl_fail(SL_ENOMEM, "base64: out of memory (%zu bytes)", n + 1);
    char *q = s;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *q++ = alphabet[v >> 18];
        *q++ = alphabet[(v >> 12) & 63];
        *q++ = alphabet[(v >> 6) & 63];
        *q++ = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *q++ = alphabet[v >> 18];
        *q++ = alphabet[(v >> 12) & 63];
        *q++ = '=';
        *q++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *q++ = alphabet[v >> 18];
        *q++ = alphabet[(v >> 12) & 63];
        *q++ = alphabet[(v >> 6) & 63];
        *q++ = '=';
    }
    *q = '\0';
    *out = s;
    return SL_OK;
}

/* ---- Colour map and heat maps ---- */

/* matplotlib's viridis (lib/matplotlib/_cm_listed.py, _viridis_data): 256 sRGB colours in [0, 1],
 * entry i for v = i / 255. */
static const double viridis[256][3] = {
    {0.267004, 0.004874, 0.329415}, {0.268510, 0.009605, 0.335427}, {0.269944, 0.014625, 0.341379},
    {0.271305, 0.019942, 0.347269}, {0.272594, 0.025563, 0.353093}, {0.273809, 0.031497, 0.358853},
    {0.274952, 0.037752, 0.364543}, {0.276022, 0.044167, 0.370164}, {0.277018, 0.050344, 0.375715},
    {0.277941, 0.056324, 0.381191}, {0.278791, 0.062145, 0.386592}, {0.279566, 0.067836, 0.391917},
    {0.280267, 0.073417, 0.397163}, {0.280894, 0.078907, 0.402329}, {0.281446, 0.084320, 0.407414},
    {0.281924, 0.089666, 0.412415}, {0.282327, 0.094955, 0.417331}, {0.282656, 0.100196, 0.422160},
    {0.282910, 0.105393, 0.426902}, {0.283091, 0.110553, 0.431554}, {0.283197, 0.115680, 0.436115},
    {0.283229, 0.120777, 0.440584}, {0.283187, 0.125848, 0.444960}, {0.283072, 0.130895, 0.449241},
    {0.282884, 0.135920, 0.453427}, {0.282623, 0.140926, 0.457517}, {0.282290, 0.145912, 0.461510},
    {0.281887, 0.150881, 0.465405}, {0.281412, 0.155834, 0.469201}, {0.280868, 0.160771, 0.472899},
    {0.280255, 0.165693, 0.476498}, {0.279574, 0.170599, 0.479997}, {0.278826, 0.175490, 0.483397},
    {0.278012, 0.180367, 0.486697}, {0.277134, 0.185228, 0.489898}, {0.276194, 0.190074, 0.493001},
    {0.275191, 0.194905, 0.496005}, {0.274128, 0.199721, 0.498911}, {0.273006, 0.204520, 0.501721},
    {0.271828, 0.209303, 0.504434}, {0.270595, 0.214069, 0.507052}, {0.269308, 0.218818, 0.509577},
    {0.267968, 0.223549, 0.512008}, {0.266580, 0.228262, 0.514349}, {0.265145, 0.232956, 0.516599},
    {0.263663, 0.237631, 0.518762}, {0.262138, 0.242286, 0.520837}, {0.260571, 0.246922, 0.522828},
    {0.258965, 0.251537, 0.524736}, {0.257322, 0.256130, 0.526563}, {0.255645, 0.260703, 0.528312},
    {0.253935, 0.265254, 0.529983}, {0.252194, 0.269783, 0.531579}, {0.250425, 0.274290, 0.533103},
    {0.248629, 0.278775, 0.534556}, {0.246811, 0.283237, 0.535941}, {0.244972, 0.287675, 0.537260},
    {0.243113, 0.292092, 0.538516}, {0.241237, 0.296485, 0.539709}, {0.239346, 0.300855, 0.540844},
    {0.237441, 0.305202, 0.541921}, {0.235526, 0.309527, 0.542944}, {0.233603, 0.313828, 0.543914},
    {0.231674, 0.318106, 0.544834}, {0.229739, 0.322361, 0.545706}, {0.227802, 0.326594, 0.546532},
    {0.225863, 0.330805, 0.547314}, {0.223925, 0.334994, 0.548053}, {0.221989, 0.339161, 0.548752},
    {0.220057, 0.343307, 0.549413}, {0.218130, 0.347432, 0.550038}, {0.216210, 0.351535, 0.550627},
    {0.214298, 0.355619, 0.551184}, {0.212395, 0.359683, 0.551710}, {0.210503, 0.363727, 0.552206},
    {0.208623, 0.367752, 0.552675}, {0.206756, 0.371758, 0.553117}, {0.204903, 0.375746, 0.553533},
    {0.203063, 0.379716, 0.553925}, {0.201239, 0.383670, 0.554294}, {0.199430, 0.387607, 0.554642},
    {0.197636, 0.391528, 0.554969}, {0.195860, 0.395433, 0.555276}, {0.194100, 0.399323, 0.555565},
    {0.192357, 0.403199, 0.555836}, {0.190631, 0.407061, 0.556089}, {0.188923, 0.410910, 0.556326},
    {0.187231, 0.414746, 0.556547}, {0.185556, 0.418570, 0.556753}, {0.183898, 0.422383, 0.556944},
    {0.182256, 0.426184, 0.557120}, {0.180629, 0.429975, 0.557282}, {0.179019, 0.433756, 0.557430},
    {0.177423, 0.437527, 0.557565}, {0.175841, 0.441290, 0.557685}, {0.174274, 0.445044, 0.557792},
    {0.172719, 0.448791, 0.557885}, {0.171176, 0.452530, 0.557965}, {0.169646, 0.456262, 0.558030},
    {0.168126, 0.459988, 0.558082}, {0.166617, 0.463708, 0.558119}, {0.165117, 0.467423, 0.558141},
    {0.163625, 0.471133, 0.558148}, {0.162142, 0.474838, 0.558140}, {0.160665, 0.478540, 0.558115},
    {0.159194, 0.482237, 0.558073}, {0.157729, 0.485932, 0.558013}, {0.156270, 0.489624, 0.557936},
    {0.154815, 0.493313, 0.557840}, {0.153364, 0.497000, 0.557724}, {0.151918, 0.500685, 0.557587},
    {0.150476, 0.504369, 0.557430}, {0.149039, 0.508051, 0.557250}, {0.147607, 0.511733, 0.557049},
    {0.146180, 0.515413, 0.556823}, {0.144759, 0.519093, 0.556572}, {0.143343, 0.522773, 0.556295},
    {0.141935, 0.526453, 0.555991}, {0.140536, 0.530132, 0.555659}, {0.139147, 0.533812, 0.555298},
    {0.137770, 0.537492, 0.554906}, {0.136408, 0.541173, 0.554483}, {0.135066, 0.544853, 0.554029},
    {0.133743, 0.548535, 0.553541}, {0.132444, 0.552216, 0.553018}, {0.131172, 0.555899, 0.552459},
    {0.129933, 0.559582, 0.551864}, {0.128729, 0.563265, 0.551229}, {0.127568, 0.566949, 0.550556},
    {0.126453, 0.570633, 0.549841}, {0.125394, 0.574318, 0.549086}, {0.124395, 0.578002, 0.548287},
    {0.123463, 0.581687, 0.547445}, {0.122606, 0.585371, 0.546557}, {0.121831, 0.589055, 0.545623},
    {0.121148, 0.592739, 0.544641}, {0.120565, 0.596422, 0.543611}, {0.120092, 0.600104, 0.542530},
    {0.119738, 0.603785, 0.541400}, {0.119512, 0.607464, 0.540218}, {0.119423, 0.611141, 0.538982},
    {0.119483, 0.614817, 0.537692}, {0.119699, 0.618490, 0.536347}, {0.120081, 0.622161, 0.534946},
    {0.120638, 0.625828, 0.533488}, {0.121380, 0.629492, 0.531973}, {0.122312, 0.633153, 0.530398},
    {0.123444, 0.636809, 0.528763}, {0.124780, 0.640461, 0.527068}, {0.126326, 0.644107, 0.525311},
    {0.128087, 0.647749, 0.523491}, {0.130067, 0.651384, 0.521608}, {0.132268, 0.655014, 0.519661},
    {0.134692, 0.658636, 0.517649}, {0.137339, 0.662252, 0.515571}, {0.140210, 0.665859, 0.513427},
    {0.143303, 0.669459, 0.511215}, {0.146616, 0.673050, 0.508936}, {0.150148, 0.676631, 0.506589},
    {0.153894, 0.680203, 0.504172}, {0.157851, 0.683765, 0.501686}, {0.162016, 0.687316, 0.499129},
    {0.166383, 0.690856, 0.496502}, {0.170948, 0.694384, 0.493803}, {0.175707, 0.697900, 0.491033},
    {0.180653, 0.701402, 0.488189}, {0.185783, 0.704891, 0.485273}, {0.191090, 0.708366, 0.482284},
    {0.196571, 0.711827, 0.479221}, {0.202219, 0.715272, 0.476084}, {0.208030, 0.718701, 0.472873},
    {0.214000, 0.722114, 0.469588}, {0.220124, 0.725509, 0.466226}, {0.226397, 0.728888, 0.462789},
    {0.232815, 0.732247, 0.459277}, {0.239374, 0.735588, 0.455688}, {0.246070, 0.738910, 0.452024},
    {0.252899, 0.742211, 0.448284}, {0.259857, 0.745492, 0.444467}, {0.266941, 0.748751, 0.440573},
    {0.274149, 0.751988, 0.436601}, {0.281477, 0.755203, 0.432552}, {0.288921, 0.758394, 0.428426},
    {0.296479, 0.761561, 0.424223}, {0.304148, 0.764704, 0.419943}, {0.311925, 0.767822, 0.415586},
    {0.319809, 0.770914, 0.411152}, {0.327796, 0.773980, 0.406640}, {0.335885, 0.777018, 0.402049},
    {0.344074, 0.780029, 0.397381}, {0.352360, 0.783011, 0.392636}, {0.360741, 0.785964, 0.387814},
    {0.369214, 0.788888, 0.382914}, {0.377779, 0.791781, 0.377939}, {0.386433, 0.794644, 0.372886},
    {0.395174, 0.797475, 0.367757}, {0.404001, 0.800275, 0.362552}, {0.412913, 0.803041, 0.357269},
    {0.421908, 0.805774, 0.351910}, {0.430983, 0.808473, 0.346476}, {0.440137, 0.811138, 0.340967},
    {0.449368, 0.813768, 0.335384}, {0.458674, 0.816363, 0.329727}, {0.468053, 0.818921, 0.323998},
    {0.477504, 0.821444, 0.318195}, {0.487026, 0.823929, 0.312321}, {0.496615, 0.826376, 0.306377},
    {0.506271, 0.828786, 0.300362}, {0.515992, 0.831158, 0.294279}, {0.525776, 0.833491, 0.288127},
    {0.535621, 0.835785, 0.281908}, {0.545524, 0.838039, 0.275626}, {0.555484, 0.840254, 0.269281},
    {0.565498, 0.842430, 0.262877}, {0.575563, 0.844566, 0.256415}, {0.585678, 0.846661, 0.249897},
    {0.595839, 0.848717, 0.243329}, {0.606045, 0.850733, 0.236712}, {0.616293, 0.852709, 0.230052},
    {0.626579, 0.854645, 0.223353}, {0.636902, 0.856542, 0.216620}, {0.647257, 0.858400, 0.209861},
    {0.657642, 0.860219, 0.203082}, {0.668054, 0.861999, 0.196293}, {0.678489, 0.863742, 0.189503},
    {0.688944, 0.865448, 0.182725}, {0.699415, 0.867117, 0.175971}, {0.709898, 0.868751, 0.169257},
    {0.720391, 0.870350, 0.162603}, {0.730889, 0.871916, 0.156029}, {0.741388, 0.873449, 0.149561},
    {0.751884, 0.874951, 0.143228}, {0.762373, 0.876424, 0.137064}, {0.772852, 0.877868, 0.131109},
    {0.783315, 0.879285, 0.125405}, {0.793760, 0.880678, 0.120005}, {0.804182, 0.882046, 0.114965},
    {0.814576, 0.883393, 0.110347}, {0.824940, 0.884720, 0.106217}, {0.835270, 0.886029, 0.102646},
    {0.845561, 0.887322, 0.099702}, {0.855810, 0.888601, 0.097452}, {0.866013, 0.889868, 0.095953},
    {0.876168, 0.891125, 0.095250}, {0.886271, 0.892374, 0.095374}, {0.896320, 0.893616, 0.096335},
    {0.906311, 0.894855, 0.098125}, {0.916242, 0.896091, 0.100717}, {0.926106, 0.897330, 0.104071},
    {0.935904, 0.898570, 0.108131}, {0.945636, 0.899815, 0.112838}, {0.955300, 0.901065, 0.118128},
    {0.964894, 0.902323, 0.123941}, {0.974417, 0.903590, 0.130215}, {0.983868, 0.904867, 0.136897},
    {0.993248, 0.906157, 0.143936},
};

void sl_colormap(double v, uint8_t rgb[3])
{
    if (!(v > 0)) v = 0; /* also NaN */
    if (v > 1) v = 1;
    double x = v * 255;
    size_t i = (size_t)x; /* floor, x >= 0 */
    if (i > 254) i = 254;
    double t = x - (double)i;
    for (int k = 0; k < 3; k++) {
        double c = viridis[i][k] + t * (viridis[i + 1][k] - viridis[i][k]);
        long q = lround(c * 255);
        rgb[k] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
    }
}

sl_status sl_heatmap_png(const float *m, size_t rows, size_t cols, int flip_rows, double lo, double hi,
                         size_t scale, uint8_t **out, size_t *len)
{
    if (out) *out = NULL;
    if (len) *len = 0;
    if (!out || !len) return sl_fail(SL_EARG, "heat map: no place for the result");
    if (!m) return sl_fail(SL_EARG, "heat map: no matrix");
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi) || !isfinite(hi - lo))
        return sl_fail(SL_EARG, "heat map: value range [%g, %g] is empty or not finite (need lo < hi)", lo, hi);
    if (rows < 1 || cols < 1 || scale < 1)
        return sl_fail(SL_EARG, "heat map: %zu x %zu cells at scale %zu; each must be >= 1", rows, cols, scale);
    if (rows > SL_PNG_MAX_SIDE / scale || cols > SL_PNG_MAX_SIDE / scale)
        return sl_fail(SL_EARG, "heat map: %zu x %zu cells at scale %zu is over %d pixels on a side", rows, cols,
                       scale, SL_PNG_MAX_SIDE);

    const size_t w = cols * scale, h = rows * scale, row_bytes = 3 * w;
    uint8_t *img = malloc(h * row_bytes);
    if (!img) return sl_fail(SL_ENOMEM, "heat map: out of memory (%zu x %zu pixels)", w, h);
    const double span = hi - lo;
    for (size_t r = 0; r < rows; r++) {
        /* the first pixel row of matrix row r, drawn once and then copied scale - 1 times */
        size_t band = flip_rows ? rows - 1 - r : r;
        uint8_t *line = img + band * scale * row_bytes;
        for (size_t j = 0; j < cols; j++) {
            uint8_t rgb[3];
            sl_colormap(((double)m[r * cols + j] - lo) / span, rgb);
            for (size_t s = 0; s < scale; s++) memcpy(line + 3 * (j * scale + s), rgb, 3);
        }
        for (size_t s = 1; s < scale; s++) memcpy(line + s * row_bytes, line, row_bytes);
    }
    sl_status st = sl_png_encode_rgb(img, w, h, out, len);
    free(img);
    return st;
}
