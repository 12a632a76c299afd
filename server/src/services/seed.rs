//! The cloud-init NoCloud seed as a disk image: a small FAT filesystem labelled `cidata` holding `meta-data`,
//! `user-data` and `network-config`, written in memory by a pure-Rust FAT writer (no external tool, no mount).
use std::io::{Cursor, Write};

/// Big enough for 64 KiB of user-data with room to spare; FAT12 at this size.
pub const SEED_BYTES: usize = 1024 * 1024;

/// The seed image: each `(name, content)` as a file in the root directory.
pub fn fat_image(files: &[(&str, &str)]) -> std::io::Result<Vec<u8>> {
    let mut disk = Cursor::new(vec![0u8; SEED_BYTES]);
    fatfs::format_volume(
        &mut disk,
        fatfs::FormatVolumeOptions::new()
            .volume_label(*b"cidata     ")
            .fat_type(fatfs::FatType::Fat12),
    )?;
    {
        let fs = fatfs::FileSystem::new(&mut disk, fatfs::FsOptions::new())?;
        for (name, content) in files {
            let mut f = fs.root_dir().create_file(name)?;
            f.truncate()?;
            f.write_all(content.as_bytes())?;
            f.flush()?;
        }
        fs.unmount()?;
    }
    Ok(disk.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn files_read_back_under_their_long_names_and_label() {
        let img = fat_image(&[("meta-data", "instance-id: i-1\n"), ("user-data", "#cloud-config\n")]).unwrap();
        assert_eq!(img.len(), SEED_BYTES);
        let mut disk = Cursor::new(img);
        let fs = fatfs::FileSystem::new(&mut disk, fatfs::FsOptions::new()).unwrap();
        assert_eq!(fs.volume_label().trim(), "cidata");
        let mut s = String::new();
        fs.root_dir()
            .open_file("meta-data")
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "instance-id: i-1\n");
    }
}
